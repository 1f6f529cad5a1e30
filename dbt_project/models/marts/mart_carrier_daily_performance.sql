{{ config(meta={'publish_by_day': 'flight_date', 'days_of': 'fct_flights'}) }}
-- On-time performance per carrier and day.
select
    flight_date,
    carrier,
    any_value(carrier_name) as carrier_name,
    {{ performance_measures() }}
from {{ ref('fct_flights') }}
{{ changed_days_only('flight_date') }}
group by flight_date, carrier
