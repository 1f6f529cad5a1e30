-- Aircraft registry by tail number.
select
    tailnum,
    year as year_built,
    type as plane_type,
    manufacturer,
    model,
    engines,
    seats,
    engine as engine_type
from {{ source('raw', 'planes') }}
