"""The envelope every event shares: a pydantic contract plus where and how it is published.

`ce_type` = `ecrm.<owner>.<Name>.v<N>`; the Kafka key is the customer id where there is one.
Consumers read tolerantly: unknown fields are ignored.
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import BaseModel, ConfigDict


class Event(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    owner: ClassVar[str]
    aggregate: ClassVar[str]
    # The event's schema version (ce_type's `.v1`). Not `version`: a ClassVar of that name hid
    # the customer snapshots' own `version` field, and their data went out without it.
    schema_version: ClassVar[int] = 1

    @classmethod
    def topic(cls) -> str:
        return f"ecrm.{cls.owner}.{cls.aggregate}"

    @classmethod
    def ce_type(cls) -> str:
        return f"ecrm.{cls.owner}.{cls.__name__}.v{cls.schema_version}"

    def key(self) -> str:
        """Partition key: the customer id, else the aggregate id. Subclasses override."""
        customer_id = getattr(self, "customer_id", None)
        if customer_id:
            return str(customer_id)
        raise NotImplementedError(f"{type(self).__name__} must define key()")

    def ce_subject(self) -> str | None:
        return self.key()
