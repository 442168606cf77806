{# The run window of this invocation, as SQL date literals. #}
{% macro start_date() %}DATE '{{ var("start_date") }}'{% endmacro %}
{% macro end_date() %}DATE '{{ var("end_date") }}'{% endmacro %}

{# Incremental models replace their run window: delete it before the new rows are appended, so a
   re-run of a day replaces it and never duplicates it (a key missing from the new batch
   disappears too, which delete+insert on a unique key would miss). #}
{% macro delete_window(date_column) %}
    {% if is_incremental() %}
        delete from {{ this }}
        where {{ date_column }} between {{ start_date() }} and {{ end_date() }}
    {% endif %}
{% endmacro %}

{# As-of snapshots are built for the last day of the window; a rebuild replaces that snapshot. #}
{% macro delete_as_of() %}
    {% if is_incremental() %}
        delete from {{ this }} where as_of_date = {{ end_date() }}
    {% endif %}
{% endmacro %}

{# Days before the window's end, as a SQL predicate on a date column: (end - n, end]. #}
{% macro within_days(date_column, n) -%}
    ({{ date_column }} > {{ end_date() }} - {{ n }} and {{ date_column }} <= {{ end_date() }})
{%- endmacro %}

{# The value on the latest row, ties broken by the value itself, so that reruns give the same
   answer whatever order DuckDB's parallel aggregation sees the rows in. #}
{% macro latest(value, at) -%}
    max(struct_pack(at := {{ at }}, v := {{ value }})).v
{%- endmacro %}
