{#- The per-day marts (`publish_by_day`) build only the days their inputs changed on: the days the
    dbt asset claimed for the model before the build (ingestion/changes.py writes them to
    meta.mart_changed_days; every day when the model is not published yet). What dbt writes into
    the audit schema is then just those days, all of each: publishing replaces them whole, so rows
    that left a re-delivered file leave the mart. A full refresh (`--full-refresh`) builds every day. -#}
{% macro changed_days_only(day_column) -%}
    {%- if not flags.FULL_REFRESH %}
where {{ day_column }} in ({{ changed_days(this.identifier) }})
    {%- endif %}
{%- endmacro %}

{% macro changed_days(model_name) -%}
select day from {{ target.database }}.{{ var('changed_days_relation', 'meta.mart_changed_days') }}
where model = '{{ model_name }}'
{%- endmacro %}

{#- The whole new version of a per-day model, for what needs more than the changed days (the route
    profile's year, its test): the published days that did not change, and the days this build
    wrote into audit. Where the ref already is the published table (the model is not built in this
    invocation, or slim CI deferred it to prod), or the audit table holds everything (a full
    refresh, a first build), it is the ref itself. Use it as `from {{ current_version(ref('x')) }} as x`. -#}
{% macro current_version(relation) -%}
    {%- set published_schema = publish_schema_of(relation.identifier) -%}
    {%- set day_column = publish_day_column_of(relation.identifier) -%}
    {%- set published = none -%}
    {%- if execute and not flags.FULL_REFRESH and published_schema and day_column and relation.schema != published_schema -%}
        {%- set published = adapter.get_relation(database=relation.database, schema=published_schema, identifier=relation.identifier) -%}
    {%- endif -%}
    {%- if published is none -%}
{{ relation }}
    {%- else -%}
(select * from {{ published }} where {{ day_column }} not in ({{ changed_days(relation.identifier) }})
 union all by name
 select * from {{ relation }})
    {%- endif -%}
{%- endmacro %}

{#- A test whose meta names `changed_days_column` (the generated key tests of the daily raw tables,
    contract/dbt_sources.py) runs on the days this build rebuilds only, so it costs the change,
    not the history. In meta rather than as a `where` config: a `where` would have to name the
    database, and dbt compares rendered test configs, so slim CI would find every such test
    modified in any environment but prod's. Other tests keep dbt's own behaviour. -#}
{% macro get_where_subquery(relation) -%}
    {%- set meta = config.get('meta') -%}
    {%- set day_column = meta.get('changed_days_column') if meta is mapping else none -%}
    {%- if day_column and not flags.FULL_REFRESH -%}
        {%- set days -%}
            select day from {{ relation.database }}.{{ var('changed_days_relation', 'meta.mart_changed_days') }}
        {%- endset -%}
        {% do return("(select * from " ~ relation ~ " where " ~ day_column ~ " in (" ~ days ~ ")) dbt_subquery") %}
    {%- endif -%}
    {% do return(adapter.dispatch('get_where_subquery', 'dbt')(relation)) %}
{%- endmacro %}
