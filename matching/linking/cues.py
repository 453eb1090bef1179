"""Cue words that tell a text's family (equipment, service, consumer good), and each node's family."""

from __future__ import annotations

import ahocorasick

from matching.chains import ChainGraph, NodeKind
from matching.linking.links import CONSUMER, EQUIPMENT, MATERIAL, SERVICE
from matching.text import normalise_text

EQUIPMENT_CUES: tuple[str, ...] = (
    "设备", "装备", "窑炉", "辊道窑", "回转窑", "烧结炉", "电炉", "炉", "窑", "生产线", "产线", "机床",
    "机械", "机组", "仪器", "仪表", "反应釜", "涂布机", "卷绕机", "叠片机", "分切机", "辊压机", "注塑机",
    "挤出机", "搅拌机", "压机", "冲床", "机器人", "模具", "检测仪", "测试仪", "测试设备", "检测设备",
    "一体机", "充注机", "加注机", "充注系统", "加注系统", "灌装机", "包装机", "清洗机", "破碎机", "粉碎机",
    "球磨机", "切割机", "焊接机", "分选机", "检漏仪",
)
SERVICE_CUES: tuple[str, ...] = (
    "检测", "测试", "检验", "化验", "认证", "服务", "咨询", "维修", "维保", "运维", "物流", "仓储",
    "运输", "回收", "拆解", "租赁", "培训", "安装", "代工", "外包", "设计", "研发服务",
)
CONSUMER_CUES: tuple[str, ...] = (
    "充电宝", "移动电源", "手机", "平板电脑", "笔记本电脑", "耳机", "电子烟", "玩具", "家电", "电动牙刷",
    "剃须刀", "手电筒", "消费电子", "蓝牙音箱", "智能手表", "手环", "自拍杆",
)
# Trailing words saying "inputs for the preceding product": 磷酸锰铁锂原料 → the buyer makes 磷酸锰铁锂.
INPUT_SUFFIXES: tuple[str, ...] = ("原材料", "原料", "辅料", "配套材料")
# Head nouns saying "an ingredient of the preceding product": 电解液溶质 → an input of 电解液.
INGREDIENT_NOUNS: tuple[str, ...] = (
    "溶质", "溶剂", "添加剂", "助剂", "粘结剂", "黏结剂", "导电剂", "原料", "原材料", "辅料", "配料",
)


def _cue_automaton() -> ahocorasick.Automaton:
    """Every cue in one Aho-Corasick automaton, valued ``(length, family)`` (a cue's first family wins)."""
    automaton = ahocorasick.Automaton()
    for family, cues in ((EQUIPMENT, EQUIPMENT_CUES), (SERVICE, SERVICE_CUES), (CONSUMER, CONSUMER_CUES)):
        for cue in cues:
            if cue not in automaton:
                automaton.add_word(cue, (len(cue), family))
    automaton.make_automaton()
    return automaton


_CUES = _cue_automaton()


def last_cue(text: str, start: int, end: int) -> tuple[int, str | None]:
    """The cue ending last within ``text[start:end]`` (longest on ties), as its end and its family."""
    best_end, best_len, best_family = -1, 0, None
    end = min(end, len(text))
    if end <= start:
        return best_end, best_family
    for last, (length, family) in _CUES.iter(text, start, end):
        cue_end = last + 1
        if cue_end - length < start:
            continue
        if cue_end > best_end or (cue_end == best_end and length > best_len):
            best_end, best_len, best_family = cue_end, length, family
    return best_end, best_family


def cue_family(text: str) -> str | None:
    """The family of the cue ending last in ``text``, if any."""
    return last_cue(text, 0, len(text))[1]


def node_family(graph: ChainGraph, nid: str) -> str:
    """A node's family: from its kind, a consumer cue in an end product's name, or a category's kinds."""
    node = graph.nodes[nid]
    if node.kind == NodeKind.equipment:
        return EQUIPMENT
    if node.kind == NodeKind.service:
        return SERVICE
    if node.kind == NodeKind.end_product and cue_family(normalise_text(node.name)) == CONSUMER:
        return CONSUMER
    if node.kind == NodeKind.category:
        kinds = {
            graph.nodes[d].kind
            for d in graph.descendants(nid)
            if d in graph.nodes and graph.nodes[d].kind != NodeKind.category
        }
        if kinds == {NodeKind.equipment}:
            return EQUIPMENT
        if kinds == {NodeKind.service}:
            return SERVICE
        if not kinds:
            cue = cue_family(normalise_text(node.name))
            if cue in (EQUIPMENT, SERVICE):
                return cue
    return MATERIAL
