-- Delay profile of each route (origin -> destination) over the latest year of loaded days: the
-- `route_profile_days` var (365) days up to the newest day in fct_flights. That is the profile
-- network planning asks for, and it costs the same however long the history grows (a percentile
-- does not add up across days, so an all-history p90 would rescan every flight on every build).
-- The window's first day is read before the build, so the scan filters on a constant and reads
-- only the row groups (files, on the lake) of that year. It reads the new version of fct_flights
-- whole (macros/dataops/changed_days.sql), not only the days this build changed.
{%- set first_day = none %}
{%- if execute %}
    {%- set newest = run_query("select max(flight_date) from " ~ current_version(ref('fct_flights')) ~ " as f").columns[0].values()[0] %}
    {%- if newest is not none %}
        {%- set first_day = (newest - modules.datetime.timedelta(days=route_profile_days() - 1)).isoformat() %}
    {%- endif %}
{%- endif %}
select
    origin,
    dest,
    any_value(dest_name) as dest_name,
    count(distinct carrier) as carriers,
    round(avg(distance), 0) as distance_mi,
    round(avg(air_time), 1) as avg_air_time_min,
    round(count(*) filter (where arr_delay >= 15) / nullif(count(arr_delay), 0), 4) as delayed_15_rate,
    min(flight_date) as first_day,
    max(flight_date) as last_day,
    {{ performance_measures() }}
from {{ current_version(ref('fct_flights')) }} as f
where {% if first_day is none %}false{% else %}flight_date >= date '{{ first_day }}'{% endif %}
group by origin, dest
