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
