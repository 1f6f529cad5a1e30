{{ config(meta={'publish_by_day': 'order_date', 'days_of': 'fct_orders'}) }}
-- Orders and revenue per day and customer segment; cancelled orders count apart and earn nothing.
select
    order_date,
    segment,
    count(*) as orders,
    count(*) filter (where is_cancelled) as orders_cancelled,
    sum(quantity) filter (where not is_cancelled) as items,
    coalesce(sum(amount_cents) filter (where not is_cancelled), 0) as revenue_cents
from {{ ref('fct_orders') }}
{{ changed_days_only('order_date') }}
group by order_date, segment
