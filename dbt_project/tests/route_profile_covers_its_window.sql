{{ config(meta={'dagster': {'ref': {'name': 'mart_route_delays'}}}) }}
-- mart_route_delays profiles exactly the latest `route_profile_days` days of fct_flights: every
-- flight of that window is counted, and no day before it is. A row here is the mismatch.
with flights as (
    select flight_date from {{ current_version(ref('fct_flights')) }} as f
),
newest as (
    select max(flight_date) as day from flights
),
in_window as (
    select count(*) as flights
    from flights, newest
    where flight_date > newest.day - {{ route_profile_days() }}
),
profiled as (
    select coalesce(sum(flights_scheduled), 0) as flights, min(first_day) as first_day
    from {{ ref('mart_route_delays') }}
)
select in_window.flights as flights_in_window, profiled.flights as flights_profiled, profiled.first_day
from in_window, profiled, newest
where in_window.flights != profiled.flights or profiled.first_day <= newest.day - {{ route_profile_days() }}
