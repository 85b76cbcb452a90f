"""Values that end up in mail headers refuse CR/LF (header injection), naming the field."""

import pytest
from pydantic import ValidationError

from services.campaigns.domain import CampaignIn
from services.contacts.domain import CustomerIn, CustomerPatch
from services.support.domain import TicketIn, TicketPatch

INJECTED = "Hello\r\nBcc: everyone@example.org"


@pytest.mark.parametrize(
    "model,body,field",
    [
        (CustomerIn, {"first_name": INJECTED}, "first_name"),
        (CustomerPatch, {"last_name": "x\ny"}, "last_name"),
        (CustomerIn, {"company": "a\rb"}, "company"),
        (
            CampaignIn,
            {"name": "n", "segment_id": "s", "subject": INJECTED, "html": "<p>hi</p>"},
            "subject",
        ),
        (
            CampaignIn,
            {
                "name": "n",
                "segment_id": "s",
                "subject": "ok",
                "html": "<p>hi</p>",
                "from": "Shop <shop@example.com>\r\nBcc: x@example.org",
            },
            "from",
        ),
        (
            TicketIn,
            {"subject": INJECTED, "body": "b", "requester_email": "a@example.com"},
            "subject",
        ),
        (TicketPatch, {"subject": "a\nb"}, "subject"),
    ],
)
def test_line_breaks_in_header_bound_fields_are_refused(model, body, field):
    with pytest.raises(ValidationError) as err:
        model.model_validate(body)
    assert field in {str(e["loc"][0]) for e in err.value.errors()}
