"""Push notifications: devices, preferences, the outbox dispatcher and the APNs/FCM providers."""
