"""LINE: the channel (`channel.py`), its webhook events (`webhook.py`), the API's
signing, retry keys and errors (`api.py`), media by URL (`media.py`), the push
quota (`quota.py`), how replies become LINE messages (`render.py`) and the rich
menu (`richmenu.py`)."""

from bot.channels.line.api import retry_key, verify_signature
from bot.channels.line.channel import LineChannel
from bot.channels.line.webhook import CHANNEL

__all__ = ["CHANNEL", "LineChannel", "retry_key", "verify_signature"]
