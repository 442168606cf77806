{# The run window of this invocation, as SQL date literals. The pipeline writes it into
   ops.run_window before it invokes dbt (warehouse/transform.py), rather than passing it as a var:
   a var that changes every day makes dbt parse the whole project again every day. Read when a
   node compiles, so compiled SQL (target/compiled, target/run) shows the dates it ran with. #}
{% macro run_window() %}
    {% if not execute %}{{ return(["1970-01-01", "1970-01-01"]) }}{% endif %}
    {% set rows = run_query("select start_date, end_date from ops.run_window") %}
    {% if rows | length != 1 %}
        {{ exceptions.raise_compiler_error(
            "ops.run_window holds " ~ (rows | length) ~ " rows, not the one run window: the pipeline "
            ~ "writes it before each dbt invocation; run by hand, insert one row first") }}
    {% endif %}
    {{ return([rows[0][0] | string, rows[0][1] | string]) }}
{% endmacro %}
{# A model reads the window once (`{% set window = run_window() %}`) and hands it to the macros
   below: each read is a query, and a model names its dates dozens of times. #}
{% macro start_date(window=none) %}DATE '{{ (window or run_window())[0] }}'{% endmacro %}
{% macro end_date(window=none) %}DATE '{{ (window or run_window())[1] }}'{% endmacro %}

{# Incremental models replace their run window: delete it before the new rows are appended, so a
   re-run of a day replaces it and never duplicates it (a key missing from the new batch
   disappears too, which delete+insert on a unique key would miss). #}
{% macro delete_window(date_column) %}
    {% if is_incremental() %}
        {% set window = run_window() %}
        delete from {{ this }}
        where {{ date_column }} between {{ start_date(window) }} and {{ end_date(window) }}
    {% endif %}
{% endmacro %}

{# As-of snapshots are built for the last day of the window; a rebuild replaces that snapshot. #}
{% macro delete_as_of() %}
    {% if is_incremental() %}
        delete from {{ this }} where as_of_date = {{ end_date() }}
    {% endif %}
{% endmacro %}

{# Days before the window's end, as a SQL predicate on a date column: (end - n, end]. #}
{% macro within_days(date_column, n, window=none) -%}
    {%- set last_day = end_date(window or run_window()) -%}
    ({{ date_column }} > {{ last_day }} - {{ n }} and {{ date_column }} <= {{ last_day }})
{%- endmacro %}

{# The value on the latest row, ties broken by the value itself, so that reruns give the same
   answer whatever order DuckDB's parallel aggregation sees the rows in. #}
{% macro latest(value, at) -%}
    max(struct_pack(at := {{ at }}, v := {{ value }})).v
{%- endmacro %}

{# Tests on daily facts look at the run window only. A test's `where` is rendered when the project
   is parsed, before the window is known, so it names the window with placeholders, replaced
   here when the test runs (dbt's documented way to template a `where`: override this macro). #}
{% macro get_where_subquery(relation) -%}
    {% set where = config.get('where') %}
    {% if where %}
        {% if "__run_start__" in where or "__run_end__" in where %}
            {% set window = run_window() %}
            {% set where = where | replace("__run_start__", "DATE '" ~ window[0] ~ "'")
                                 | replace("__run_end__", "DATE '" ~ window[1] ~ "'") %}
        {% endif %}
        {%- set filtered -%}
            (select * from {{ relation }} where {{ where }}) dbt_subquery
        {%- endset -%}
        {% do return(filtered) %}
    {%- else -%}
        {% do return(relation) %}
    {%- endif -%}
{%- endmacro %}
