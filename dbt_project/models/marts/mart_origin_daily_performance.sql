{{ config(meta={'publish_by_day': 'flight_date', 'days_of': 'fct_flights'}) }}
-- On-time performance per NYC origin airport and day.
select
    flight_date,
    origin,
    any_value(origin_name) as origin_name,
    {{ performance_measures() }}
from {{ ref('fct_flights') }}
{{ changed_days_only('flight_date') }}
group by flight_date, origin
