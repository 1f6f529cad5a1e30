{{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key='flight_date', on_schema_change='fail') }}
-- On-time performance per NYC origin airport and day.
select
    flight_date,
    origin,
    any_value(origin_name) as origin_name,
    {{ performance_measures() }}
from {{ ref('fct_flights') }}
{{ changed_days_only('flight_date') }}
group by flight_date, origin
