{#- Use the configured schema name as is (staging, marts), not <target>_<schema>: every
    environment has its own warehouse file, so schemas do not need an environment prefix. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {{ custom_schema_name if custom_schema_name is not none else target.schema }}
{%- endmacro %}
