{{ config(meta={'publish_by_day': 'order_date', 'days_of': 'orders'}) }}
-- Every order with its customer's segment. A left join: an order is never dropped because the
-- customer list lags (the relationship test says so, as an error).
select
    o.order_id,
    o.order_date,
    o.customer_id,
    c.customer_name,
    c.segment,
    o.status,
    o.is_cancelled,
    o.quantity,
    o.amount_cents
from {{ ref('stg_orders') }} as o
left join {{ ref('stg_customers') }} as c on c.customer_id = o.customer_id
{{ changed_days_only('o.order_date') }}
