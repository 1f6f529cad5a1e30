{#- A raw table's primary key, as its dataset declares it (config/datasets/, carried into the
    generated _sources.yml as meta.primary_key): `{{ primary_key('raw', 'orders') | join(', ') }}`.
    SQL that builds a key from it never repeats the columns. Parsing renders no SQL (execute is
    false), so there it is the empty list. -#}
{% macro primary_key(source_name, table_name) -%}
    {%- if not execute -%}
        {{ return([]) }}
    {%- endif -%}
    {%- for node in graph.sources.values() -%}
        {%- if node.source_name == source_name and node.name == table_name -%}
            {{ return(node.config.meta.primary_key) }}
        {%- endif -%}
    {%- endfor -%}
    {{ exceptions.raise_compiler_error("source " ~ source_name ~ "." ~ table_name ~ " declares no primary_key") }}
{%- endmacro %}
