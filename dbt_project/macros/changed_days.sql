{#- The incremental marts rebuild only the days their inputs changed on: the days the dbt asset
    claimed for this model before the build (ingestion/changes.py writes them to
    meta.mart_changed_days). `where <column> in (those days)` on an incremental run; nothing on a
    full build (first run, --full-refresh), which takes every day. With delete+insert on the day,
    a changed day's rows are replaced whole, so rows that left a re-delivered file leave the mart. -#}
{% macro changed_days_only(day_column) -%}
    {%- if is_incremental() %}
where {{ day_column }} in (
    select day from {{ target.database }}.{{ var('changed_days_relation', 'meta.mart_changed_days') }}
    where model = '{{ this.identifier }}'
)
    {%- endif %}
{%- endmacro %}
