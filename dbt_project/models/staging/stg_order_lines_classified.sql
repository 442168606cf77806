-- Each line with the one rule that decides what it counts for (the counted rules of staging):
--   demand          product line, not cancelled, positive price: counts for demand and purchases
--   cancellation    cancelled or returned
--   non_product     postage, fees, vouchers... (the source's product rule says no)
--   zero_price      product line without a positive price (free samples, adjustments)
select
    *,
    case
        when is_cancellation then 'cancellation'
        when not is_product then 'non_product'
        when unit_price <= 0 then 'zero_price'
        else 'demand'
    end as line_class,
    not is_cancellation and is_product and unit_price > 0 as is_demand_line
from {{ ref('stg_order_lines') }}
