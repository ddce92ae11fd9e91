"""SQLAlchemy tables, one module per aggregate. Importing this package registers them all."""

from models.auth import AuthSession, OtpChallenge
from models.banned_phone import BannedPhone
from models.base import Base
from models.block import Block
from models.feed_impression import FeedImpression
from models.match import Match, Swipe, canonical_pair
from models.message import Message
from models.moderation_audit import ModerationAudit
from models.photo import MediaDeletion, ProfilePhoto
from models.profile import UserInterest, UserProfile
from models.push import MatchMute, NotificationSettings, PushDevice, PushOutbox
from models.report import Report
from models.subscription import Subscription
from models.user import User

__all__ = [
    "AuthSession",
    "BannedPhone",
    "Base",
    "Block",
    "FeedImpression",
    "Match",
    "MatchMute",
    "MediaDeletion",
    "Message",
    "ModerationAudit",
    "NotificationSettings",
    "OtpChallenge",
    "ProfilePhoto",
    "PushDevice",
    "PushOutbox",
    "Report",
    "Subscription",
    "Swipe",
    "User",
    "UserInterest",
    "UserProfile",
    "canonical_pair",
]
