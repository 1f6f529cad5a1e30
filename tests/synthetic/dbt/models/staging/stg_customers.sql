-- The shop's customers and their segment.
select
    customer_id,
    customer_name,
    segment
from {{ source('raw', 'customers') }}
