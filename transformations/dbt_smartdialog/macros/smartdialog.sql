{#- Select `columns` (name: type) from a source table; when the dataset does not have the table yet (a fresh
    pull, no campaigns sent) the model is empty with the same columns instead of failing. -#}
{% macro smartdialog_source(table, columns) %}
{%- set relation = source('smartdialog', table) -%}
{%- set found = adapter.get_relation(relation.database, relation.schema, relation.identifier) if execute else relation -%}
{%- if found is none %}
select
  {%- for name, kind in columns.items() %}
    cast(null as {{ kind }}) as {{ adapter.quote(name) }}{{ "," if not loop.last }}
  {%- endfor %}
where 1 = 0
{%- else %}
select
  {%- for name, kind in columns.items() %}
    {{ adapter.quote(name) }}{{ "," if not loop.last }}
  {%- endfor %}
from {{ relation }}
{%- endif %}
{% endmacro %}

{#- A message text is a stop keyword: upper-cased with surrounding spaces, tabs, newlines and . ! ? trimmed,
    the rule `sdsync send` and `sdsync report` use. -#}
{% macro smartdialog_is_stop(content) %}
upper(trim(both ' .!?' || chr(9) || chr(10) || chr(13) from {{ content }})) in (
  {%- for keyword in var('smartdialog_stop_keywords') %}'{{ keyword | upper | replace("'", "''") }}'{{ "," if not loop.last }}{% endfor -%}
)
{% endmacro %}

{#- A percentage with one decimal, rounded the same way on every engine. -#}
{% macro smartdialog_pct(part, whole) %}
round(cast(100.0 * {{ part }} / nullif({{ whole }}, 0) as decimal(18, 6)), 1)
{% endmacro %}

{#- The delivery outcome of a lower-cased status: delivered, failed or pending. -#}
{% macro smartdialog_outcome(status) %}
case
  when {{ status }} = 'delivered' then 'delivered'
  when {{ status }} in ('failed', 'expired', 'rejected', 'undeliverable', 'undelivered') then 'failed'
  else 'pending'
end
{% endmacro %}

{#- A share in percentage points with one decimal (a difference of two rates, or its interval's ends). -#}
{% macro smartdialog_points(share) %}
round(cast(100.0 * {{ share }} as decimal(18, 6)), 1)
{% endmacro %}

{#- The rate `part / whole` as `<name>_rate` with its 95 % Wilson score interval (`<name>_centre` ± `<name>_half`). -#}
{% macro smartdialog_wilson(part, whole, name) %}
1.0 * {{ part }} / {{ whole }} as {{ name }}_rate,
(1.0 * {{ part }} / {{ whole }} + 3.8416 / (2 * {{ whole }})) / (1 + 3.8416 / {{ whole }}) as {{ name }}_centre,
1.96 / (1 + 3.8416 / {{ whole }}) * sqrt(
    (1.0 * {{ part }} / {{ whole }}) * (1 - 1.0 * {{ part }} / {{ whole }}) / {{ whole }}
    + 3.8416 / (4.0 * {{ whole }} * {{ whole }})) as {{ name }}_half
{% endmacro %}

{#- `<name>_diff` = arm rate - holdout rate, with its 95 % Newcombe hybrid score interval `<name>_low`, `<name>_high`
    (from the Wilson intervals of `smartdialog_wilson` on relations `arm` and `holdout`). -#}
{% macro smartdialog_newcombe(name) %}
arm.{{ name }}_rate - holdout.{{ name }}_rate as {{ name }}_diff,
arm.{{ name }}_rate - holdout.{{ name }}_rate - sqrt(
    power(arm.{{ name }}_rate - (arm.{{ name }}_centre - arm.{{ name }}_half), 2)
    + power(holdout.{{ name }}_centre + holdout.{{ name }}_half - holdout.{{ name }}_rate, 2)) as {{ name }}_low,
arm.{{ name }}_rate - holdout.{{ name }}_rate + sqrt(
    power(arm.{{ name }}_centre + arm.{{ name }}_half - arm.{{ name }}_rate, 2)
    + power(holdout.{{ name }}_rate - (holdout.{{ name }}_centre - holdout.{{ name }}_half), 2)) as {{ name }}_high
{% endmacro %}
