"""The fast paths of two hot text functions give what their plain definitions give."""

from __future__ import annotations

import unicodedata

from hypothesis import given, settings
from hypothesis import strategies as st

from matching.linking.cues import CONSUMER_CUES, EQUIPMENT_CUES, SERVICE_CUES, last_cue
from matching.linking.links import CONSUMER, EQUIPMENT, SERVICE
from matching.text import normalise_text

_FAMILIES = ((EQUIPMENT, EQUIPMENT_CUES), (SERVICE, SERVICE_CUES), (CONSUMER, CONSUMER_CUES))
_CUE_CHARS = sorted(set("".join(EQUIPMENT_CUES + SERVICE_CUES + CONSUMER_CUES)) | set("材料钢 a"))


def _last_cue_by_scanning(text: str, start: int, end: int) -> tuple[int, str | None]:
    """The definition: every cue's last occurrence in ``text[start:end]``; the latest end, longest on ties."""
    best_end, best_len, best_family = -1, 0, None
    for family, cues in _FAMILIES:
        for cue in cues:
            pos = text.rfind(cue, start, end)
            if pos >= 0 and (pos + len(cue) > best_end or (pos + len(cue) == best_end and len(cue) > best_len)):
                best_end, best_len, best_family = pos + len(cue), len(cue), family
    return best_end, best_family


@settings(max_examples=3000, deadline=None)
@given(st.text(alphabet=st.sampled_from(_CUE_CHARS), max_size=16), st.integers(0, 18), st.integers(0, 18))
def test_last_cue_equals_scanning_every_cue(text: str, start: int, end: int) -> None:
    assert last_cue(text, start, end) == _last_cue_by_scanning(text, start, end)


def test_last_cue_on_product_phrases() -> None:
    assert last_cue("正极材料烧结窑炉", 0, 8) == (8, EQUIPMENT)
    assert last_cue("锂电池检测设备", 0, 7) == (7, EQUIPMENT)  # 检测设备 (longer) over 设备 at the same end
    assert last_cue("锂电池检测设备", 0, 5) == (5, SERVICE)  # 检测 alone is a service
    assert last_cue("磷酸铁锂", 0, 4) == (-1, None)


@given(st.text(max_size=40))
def test_normalise_text_equals_its_definition(text: str) -> None:
    from matching.text import _SPACE, _T2S

    expected = _SPACE.sub(" ", str(_T2S.convert(unicodedata.normalize("NFKC", text)))).strip().lower()
    assert normalise_text(text) == expected


def test_normalise_text_folds_width_and_script() -> None:
    assert normalise_text("ＡＢＣ　鋰電池 ") == "abc 锂电池"
