{#- Write-audit-publish (publishing/marts.py): dbt writes the marts into the audit schema and the
    pipeline publishes them into `publish_to` (dbt_project.yml) once the build's tests passed. So a
    ref to an audited model means its new version only when this invocation builds it. Any other
    is read where it is published: a subset build reads the marts it does not rebuild as readers
    see them, and slim CI's `--defer` reads prod's published marts, never an audit table that a
    failed or killed build may have left behind. (Overriding ref this way is dbt's documented
    `builtins` pattern.) -#}
{% macro ref() %}
    {%- set version = kwargs.get('version') or kwargs.get('v') -%}
    {%- if (varargs | length) == 1 -%}
        {%- set relation = builtins.ref(varargs[0], version=version) -%}
    {%- else -%}
        {%- set relation = builtins.ref(varargs[0], varargs[1], version=version) -%}
    {%- endif -%}
    {%- set model_name = varargs[-1] -%}
    {%- set published_schema = publish_schema_of(model_name) -%}
    {%- if execute and published_schema and ('model.' ~ project_name ~ '.' ~ model_name) not in selected_resources -%}
        {%- do return(relation.incorporate(path={'schema': published_schema})) -%}
    {%- endif -%}
    {%- do return(relation) -%}
{% endmacro %}

{#- Where an audited model is published (its `publish_to`), or none for a model dbt publishes itself. -#}
{% macro publish_schema_of(model_name) -%}
    {%- do return(audited_model_meta(model_name).get('publish_to')) -%}
{%- endmacro %}

{#- The day column a per-day audited model is published by (`publish_by_day`), or none. -#}
{% macro publish_day_column_of(model_name) -%}
    {%- do return(audited_model_meta(model_name).get('publish_by_day')) -%}
{%- endmacro %}

{% macro audited_model_meta(model_name) -%}
    {%- if not execute -%}
        {%- do return({}) -%}
    {%- endif -%}
    {%- set node = graph.nodes.get('model.' ~ project_name ~ '.' ~ model_name) -%}
    {%- do return(node.config.meta if node else {}) -%}
{%- endmacro %}
