"""dbt packages over the pulled dataset: `dbt_smartdialog` (staging models and marts)."""
