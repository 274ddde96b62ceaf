from __future__ import annotations

from typing import Any

from django.apps import AppConfig
from django.db.models.signals import pre_save


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts and API tokens"

    def ready(self) -> None:
        from django.contrib.auth import get_user_model

        from accounts.services import revoke_on_password_change

        def password_changed(sender: Any, instance: Any, raw: bool, **kw: Any) -> None:
            if not raw:
                revoke_on_password_change(instance)

        pre_save.connect(
            password_changed, sender=get_user_model(), weak=False, dispatch_uid="tokens-revoke"
        )
