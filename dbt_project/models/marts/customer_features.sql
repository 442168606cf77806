{{ config(pre_hook=[before_begin("{{ customer_features_layout_2() }}"), "{{ delete_as_of() }}"]) }}
{# The layout of the snapshot that chaining reads (base, below): a change of it makes every earlier
   snapshot invalid, so the next build starts from all history once. 2: the category mix
   became a sorted list of units (building 40,000 maps a day cost more than the rest of the model). #}
{% set snapshot_layout = 2 %}
{# Chain only from a table that has this layout's columns (a table of an older layout gets them,
   empty, from the hook above, before this build appends). #}
{% set chainable = is_incremental() and "units_by_category" in (
    adapter.get_columns_in_relation(this) | map(attribute="name") | map("lower") | list) %}
{% set window = run_window() %}
-- RFM, tenure and category mix as of the window's last day, for every customer with at least
-- one order up to it. Only data up to as_of_date.
--
-- Built by chaining: the latest earlier snapshot if it is still valid, plus the facts after it, so
-- a daily run costs what the day and the customer base cost, not the whole history. A snapshot
-- is valid while the files ingested up to its date (and the source's rules) are those it was built
-- from: its input_fingerprint says which. Without a valid snapshot it is built from all history.

with files_by_day as (
    -- each day's files and how many of their lines were quarantined: a re-delivery, or a
    -- mapping fix that lets quarantined lines in, changes the fingerprint of that day onwards
    select
        f.run_date,
        string_agg(f.sha256, ',' order by f.file_name) || ':' || any_value(coalesce(v.quarantined, 0))
            as day_files
    from {{ source('ops', 'ingested_files') }} as f
    left join {{ source('ops', 'day_volumes') }} as v using (run_date)
    where f.run_date <= {{ end_date(window) }}
    group by f.run_date
),

fingerprints as (
    -- fingerprint of the input up to each day: every file's checksum, the rules in force and the
    -- snapshot's layout
    select
        run_date,
        md5(string_agg(day_files, '|') over (order by run_date)
            || '{{ (var("cancellation_rule") ~ "|" ~ var("product_rule") ~ "|" ~ snapshot_layout) | replace("'", "''") }}') as fingerprint
    from files_by_day
),

previous as (
    {% if chainable %}
    -- the latest snapshot before the window, if still valid (otherwise all history): looking
    -- further back would read every day's snapshot, a year of them after a year of daily runs
    select s.as_of_date
    from (select as_of_date, any_value(input_fingerprint) as input_fingerprint from {{ this }}
          where as_of_date = (select max(as_of_date) from {{ this }}
                              where as_of_date < {{ start_date(window) }})
          group by as_of_date) as s
    join fingerprints f
      on f.run_date = (select max(run_date) from fingerprints where run_date <= s.as_of_date)
     and f.fingerprint = s.input_fingerprint
    {% else %}
    select cast(null as date) as as_of_date
    {% endif %}
),

since as (
    select coalesce((select as_of_date from previous), date '0001-01-01') as after_date
),

base as (
    {% if chainable %}
    select customer_id, first_order_date, last_order_date, frequency as orders, units,
           monetary as revenue, store, orders_90d, units_by_category, categories
    from {{ this }}
    where as_of_date = (select as_of_date from previous)
    {% else %}
    select null::varchar as customer_id, null::date as first_order_date, null::date as last_order_date,
           null::bigint as orders, null::bigint as units, null::double as revenue,
           null::varchar as store, null::bigint as orders_90d,
           null::struct(category varchar, units bigint)[] as units_by_category,
           null::bigint as categories
    where false
    {% endif %}
),

delta as (
    select
        customer_id,
        min(order_date) as first_order_date,
        max(order_date) as last_order_date,
        sum(orders) as orders,
        sum(units) as units,
        sum(revenue) as revenue,
        {{ latest("store", "order_date") }} as store
    from {{ ref('fct_customer_daily') }}
    where order_date > (select after_date from since) and order_date <= {{ end_date(window) }}
    group by customer_id
),

category_units as (
    -- only customers who bought since the base snapshot: the others' mix has not changed
    select customer_id, category, cast(sum(units) as bigint) as units
    from (
        select customer_id, unnest(units_by_category, recursive := true)
        from base semi join delta using (customer_id)
        union all
        select customer_id, category, units
        from {{ ref('fct_customer_item_daily') }}
        where order_date > (select after_date from since) and order_date <= {{ end_date(window) }}
          and units > 0
    )
    group by customer_id, category
),

category_mix as (
    -- one list per customer, sorted by category: a list rather than a map, because building a map
    -- per customer cost more than the rest of the model (0.7 s of 1.5 s for 40,000 customers);
    -- units only, as a share per category would write every category name twice a day
    select
        customer_id,
        entries as units_by_category,
        len(entries) as categories
    from (
        select customer_id, list_sort(list(struct_pack(category := category, units := units))) as entries
        from category_units
        group by customer_id
    )
    union all by name
    select customer_id, units_by_category, categories
    from base anti join delta using (customer_id)
    where categories > 0
),

recent as (
    -- orders in the 90 days up to as_of_date, chained like the rest: the base's count, plus the
    -- days since it, less the days that left the window (without a base: everything up to the
    -- window's end, less everything up to 90 days before it)
    select customer_id, sum(orders_90d) as orders_90d
    from (
        select customer_id, orders_90d from base
        union all
        select customer_id, orders from {{ ref('fct_customer_daily') }}
        where order_date > (select after_date from since) and order_date <= {{ end_date(window) }}
        union all
        select customer_id, -orders from {{ ref('fct_customer_daily') }}
        where order_date > (select after_date from since) - 90
          and order_date <= {{ end_date(window) }} - 90
    )
    group by customer_id
),

rfm as (
    select
        coalesce(b.customer_id, d.customer_id) as customer_id,
        least(b.first_order_date, d.first_order_date) as first_order_date,
        greatest(b.last_order_date, d.last_order_date) as last_order_date,
        cast(coalesce(b.orders, 0) + coalesce(d.orders, 0) as bigint) as orders,
        cast(coalesce(b.units, 0) + coalesce(d.units, 0) as bigint) as units,
        round(coalesce(b.revenue, 0) + coalesce(d.revenue, 0), 2) as revenue,
        coalesce(d.store, b.store) as store
    from base b
    full outer join delta d on b.customer_id = d.customer_id
)

select
    {{ end_date(window) }} as as_of_date,
    rfm.customer_id,
    rfm.store,
    rfm.first_order_date,
    rfm.last_order_date,
    {{ end_date(window) }} - rfm.first_order_date as tenure_days,
    {{ end_date(window) }} - rfm.last_order_date as recency_days,
    rfm.orders as frequency,
    cast(coalesce(recent.orders_90d, 0) as bigint) as orders_90d,
    rfm.revenue as monetary,
    round(rfm.revenue / rfm.orders, 2) as mean_order_value,
    rfm.units,
    coalesce(category_mix.categories, 0) as categories,
    category_mix.units_by_category,
    case when rfm.orders <= {{ var('cold_customer_max_orders') }} then 'cold' else 'warm' end as segment,
    (select fingerprint from fingerprints order by run_date desc limit 1) as input_fingerprint
from rfm
left join category_mix using (customer_id)
left join recent using (customer_id)
