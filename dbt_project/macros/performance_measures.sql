{#- The on-time performance measures, shared by every performance mart so they agree by construction.
    On-time rate follows the US DOT: cancelled and diverted flights count as not on time. -#}
{% macro performance_measures() %}
    count(*) as flights_scheduled,
    count(*) filter (where is_cancelled) as flights_cancelled,
    count(*) filter (where is_diverted) as flights_diverted,
    count(*) filter (where is_on_time) as flights_on_time,
    round(count(*) filter (where is_on_time) / count(*), 4) as on_time_rate,
    round(count(*) filter (where is_cancelled) / count(*), 4) as cancellation_rate,
    round(avg(dep_delay), 2) as avg_dep_delay_min,
    round(avg(arr_delay), 2) as avg_arr_delay_min,
    round(quantile_cont(arr_delay, 0.9), 1) as p90_arr_delay_min
{% endmacro %}

{#- How many days up to the newest the route profile (mart_route_delays) covers: a year, unless the
    `route_profile_days` var says otherwise. -#}
{% macro route_profile_days() -%}
    {{ return(var('route_profile_days', 365) | int) }}
{%- endmacro %}
