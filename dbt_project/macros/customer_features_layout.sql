{# customer_features' snapshot layout 2 (a list of units by category instead of two maps), for a warehouse built with
   layout 1: the old columns go, the new ones come empty, and the layout number in the snapshots'
   fingerprint stops older snapshots from being chained. Outside the model's transaction, because
   DuckDB cannot commit a transaction that deletes from a table and then alters it. #}
{% macro customer_features_layout_2() %}
    {% if execute and is_incremental() %}
        {% set columns = adapter.get_columns_in_relation(this) | map(attribute="name") | map("lower") | list %}
        {% if "units_by_category" not in columns %}
            alter table {{ this }} drop column if exists category_units;
            alter table {{ this }} drop column if exists category_mix;
            alter table {{ this }} add column units_by_category struct(category varchar, units bigint)[];
        {% endif %}
    {% endif %}
{% endmacro %}
