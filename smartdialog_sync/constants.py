"""Constants of the SmartDialog API and of this project."""

from __future__ import annotations

API_BASE_PATH = "/api-integrations/v1"
PRODUCTION_BASE_URL = "https://api.arena.fi" + API_BASE_PATH
OAUTH_BASE_URL = "https://arenafi.b2clogin.com/arenafi.onmicrosoft.com/B2C_1A_SmartDialog_Integrations/oauth2/v2.0"
AUTHORIZE_URL = OAUTH_BASE_URL + "/authorize"
TOKEN_URL = OAUTH_BASE_URL + "/token"
OAUTH_SCOPES = " ".join(
    ["offline_access"]
    + [
        f"https://arenafi.onmicrosoft.com/smartdialog-integrations-api/{scope}"
        for scope in (
            "Gateway.Send",
            "Customer.Services",
            "User.Customers",
            "TwoWay.Management",
            "WhatsApp",
            "Discussion.Reply",
            "Group.Management",
        )
    ]
)

EMULATOR_HOST = "127.0.0.1"
EMULATOR_PORT = 8765
EMULATOR_BASE_URL = f"http://{EMULATOR_HOST}:{EMULATOR_PORT}{API_BASE_PATH}"
EMULATOR_SANDBOX_TOKEN = "sandbox-token"

DEFAULT_RATE_LIMIT = "100/60"
DEFAULT_TIMEOUT_S = 30.0

DEFAULT_DATASET = "smartdialog"  # the pull's dataset (schema) name; its DuckDB file is state.files.DATASET_FILE

CUSTOMER_DATA_MAX = 255
REQUEST_ID_MAX = 1000
TEMPLATE_DISPLAY_NAME_MAX = 100
SERVICE_TYPES = ("OneWay", "TwoWay", "Group")
GENDERS = ("Male", "Female", "Other")
BUTTON_TYPES = ("Call", "QuickReply", "Url")

RECEIVER_MAX_BODY_BYTES = 256 * 1024  # largest webhook body `sdsync serve` accepts by default
RECEIVER_BODY_TIMEOUT_S = 30.0  # seconds a webhook body may take to arrive
