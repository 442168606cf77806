{{ config(pre_hook="{{ delete_as_of() }}") }}
{% set window = run_window() %}
-- RFM, tenure and category mix as of the window's last day, for every customer with at least
-- one order up to it. Only data up to as_of_date.
--
-- Built by chaining: the latest earlier snapshot that is still valid, plus the facts after it, so
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
    -- fingerprint of the input up to each day: every file's checksum and the rules in force
    select
        run_date,
        md5(string_agg(day_files, '|') over (order by run_date)
            || '{{ (var("cancellation_rule") ~ "|" ~ var("product_rule")) | replace("'", "''") }}') as fingerprint
    from files_by_day
),

previous as (
    {% if is_incremental() %}
    select max(s.as_of_date) as as_of_date
    from (select distinct as_of_date, input_fingerprint from {{ this }}
          where as_of_date < {{ start_date(window) }}) as s
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
    {% if is_incremental() %}
    select customer_id, first_order_date, last_order_date, frequency as orders, units,
           monetary as revenue, store, category_units, category_mix, categories
    from {{ this }}
    where as_of_date = (select as_of_date from previous)
    {% else %}
    select null::varchar as customer_id, null::date as first_order_date, null::date as last_order_date,
           null::bigint as orders, null::bigint as units, null::double as revenue,
           null::varchar as store, null::map(varchar, bigint) as category_units,
           null::map(varchar, double) as category_mix, null::bigint as categories
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
        select customer_id, unnest(map_keys(category_units)) as category,
               unnest(map_values(category_units)) as units
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
    -- one unordered list per customer, sorted once by category (three ordered aggregates cost
    -- three times as much at a year of customers)
    select
        customer_id,
        map_from_entries(entries) as category_units,
        map_from_entries(list_transform(
            entries, e -> struct_pack(k := e.k, v := round(e.v / total, 6)))) as category_mix,
        len(entries) as categories
    from (
        select customer_id, list_sort(list(struct_pack(k := category, v := units))) as entries,
               sum(units) as total
        from category_units
        group by customer_id
    )
    union all by name
    select customer_id, category_units, category_mix, categories
    from base anti join delta using (customer_id)
    where categories > 0
),

recent as (
    select customer_id, cast(sum(orders) as bigint) as orders_90d
    from {{ ref('fct_customer_daily') }}
    where {{ within_days('order_date', 90, window) }}
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
    coalesce(recent.orders_90d, 0) as orders_90d,
    rfm.revenue as monetary,
    round(rfm.revenue / rfm.orders, 2) as mean_order_value,
    rfm.units,
    coalesce(category_mix.categories, 0) as categories,
    category_mix.category_mix,
    category_mix.category_units,
    case when rfm.orders <= {{ var('cold_customer_max_orders') }} then 'cold' else 'warm' end as segment,
    (select fingerprint from fingerprints order by run_date desc limit 1) as input_fingerprint
from rfm
left join category_mix using (customer_id)
left join recent using (customer_id)
