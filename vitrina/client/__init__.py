"""Python SDK: a small typed client over Vitrina's REST API.

    from vitrina.client import Client

    with Client("http://127.0.0.1:8000", api_key="vk_...") as vitrina:
        asset = vitrina.upload("photo.jpg").asset
        asset = vitrina.wait_until_ready(asset.id)
        thumb = vitrina.download_derivative(asset.derivative(320, "webp"))

Only httpx is needed; nothing here imports the server.
"""

from vitrina.client.client import Client
from vitrina.client.errors import (
    AssetFailedError,
    BadRequestError,
    ConflictError,
    ForbiddenError,
    IntegrityError,
    NotFoundError,
    ProtocolError,
    RateLimitedError,
    ServerError,
    UnauthorizedError,
    VitrinaAPIError,
    VitrinaClientError,
    VitrinaConnectionError,
    WaitTimeoutError,
)
from vitrina.client.images import ImageURLs
from vitrina.client.models import (
    STATUSES,
    Asset,
    AssetPage,
    Derivative,
    Health,
    Logged,
    Recommendations,
    RecommendedItem,
    Signal,
    StepInfo,
    UploadResult,
    Upserted,
)

__all__ = [
    "STATUSES",
    "Asset",
    "AssetFailedError",
    "AssetPage",
    "BadRequestError",
    "Client",
    "ConflictError",
    "Derivative",
    "ForbiddenError",
    "Health",
    "ImageURLs",
    "IntegrityError",
    "Logged",
    "NotFoundError",
    "ProtocolError",
    "RateLimitedError",
    "Recommendations",
    "RecommendedItem",
    "ServerError",
    "Signal",
    "StepInfo",
    "UnauthorizedError",
    "UploadResult",
    "Upserted",
    "VitrinaAPIError",
    "VitrinaClientError",
    "VitrinaConnectionError",
    "WaitTimeoutError",
]
