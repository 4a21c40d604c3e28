"""Operating smartdialog-sync: `status` (what the local stores say) and `doctor` (is the set-up sound)."""
