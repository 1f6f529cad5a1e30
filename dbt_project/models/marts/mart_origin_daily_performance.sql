-- On-time performance per NYC origin airport and day.
select
    flight_date,
    origin,
    any_value(origin_name) as origin_name,
    {{ performance_measures() }}
from {{ ref('fct_flights') }}
group by flight_date, origin
