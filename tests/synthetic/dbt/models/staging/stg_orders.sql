-- The shop's orders, typed and named for the marts; a cancelled order is flagged.
select
    order_id,
    customer_id,
    order_date,
    status,
    status = 'cancelled' as is_cancelled,
    quantity,
    amount_cents
from {{ source('raw', 'orders') }}
