-- On-time performance per carrier and day.
select
    flight_date,
    carrier,
    any_value(carrier_name) as carrier_name,
    {{ performance_measures() }}
from {{ ref('fct_flights') }}
group by flight_date, carrier
