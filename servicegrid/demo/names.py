"""Names for a demo county larger than the demo's word tables: townships, streets and variants.

The demo county (scale 1) takes every name from fixed word tables. A county ``scale`` times its
size needs more names than those tables hold: :func:`_township_names` and :func:`_street_names`
add generated ones after the tables' own, and :func:`_variants` stretches any list of names with
the prefixes real places use to tell namesakes apart (东, 西, 新 …: 东张家庄, 新文昌). Each
returns the table itself, unchanged, whenever the table is long enough, so the demo county
keeps its names.
"""

from __future__ import annotations

import numpy as np

from ._arrays import _words

# Parts of generated township and street names (all invented)
_FIRST = _words(
    "金 银 龙 凤 桃 梨 松 竹 黄 绿 高 长 双 三 五 安 平 永 兴 太 仁 义 德 福 宁 丰 和 顺 瑞 嘉 "
    "青 白 东 西 南 北 石 柳 杏 马 红 清 古 云 雁 鹤 枣 槐 榆 莲"
)
_TOWN_SECOND = _words("山 水 岭 门 林 川 花 坊 崖 泉 河 沟 峪 坪 庄 店 桥 湾 口 堡 营 寨 集 铺")
_STREET_SECOND = _words("城 关 华 安 苑 阳 江 湖 园 新 府 兴")
_PREFIXES = _words("东 西 南 北 新 中 上 下 前 后 大 小 老 内 外")
_XIANG_SHARE = 0.3  # share of generated township names that are xiang (乡) rather than towns (镇)
_STRIDE = 389  # a prime: walking a table with this step visits every name, first parts mixed


def _stems(second: tuple[str, ...]) -> np.ndarray:
    """Every two-character stem of :data:`_FIRST` × ``second``, in a fixed, well-mixed order."""
    stems = np.char.add(np.repeat(np.array(_FIRST), len(second)), np.tile(second, len(_FIRST)))
    if np.gcd(_STRIDE, len(stems)) != 1:
        msg = "the name tables' size shares a factor with the stride"
        raise RuntimeError(msg)
    return stems[(np.arange(len(stems)) * _STRIDE) % len(stems)]


def _variants(names: np.ndarray, n: int) -> np.ndarray:
    """``n`` names: ``names`` themselves first, then each again behind one prefix, then two.

    Returns ``names`` unchanged when ``n`` is not more than their number.
    """
    names = np.asarray(names).astype(str)
    if n <= len(names):
        return names
    one = np.char.add(np.repeat(np.array(_PREFIXES), len(names)), np.tile(names, len(_PREFIXES)))
    two = np.char.add(np.repeat(np.array(_PREFIXES), len(one)), np.tile(one, len(_PREFIXES)))
    pool = np.r_[names, one, two]
    if n > len(pool):
        msg = f"{n} names asked of a list of {len(names)}; the demo's name tables do not stretch that far"
        raise ValueError(msg)
    return pool[:n]


def _township_names(table: tuple[str, ...], n: int) -> np.ndarray:
    """The table's town and xiang names, then generated ones (镇 or 乡) when ``n`` needs more.

    The generated names never repeat a name of the table, and are in a fixed order: the
    caller draws from the result, so the same ``n`` always offers the same names.
    """
    if n <= len(table):
        return np.array(table)
    stems = _stems(_TOWN_SECOND)
    # every stem keeps one suffix: spread the xiang evenly through the list
    xiang = (np.arange(len(stems)) * 7919 % 100) < 100 * _XIANG_SHARE
    generated = np.char.add(stems, np.where(xiang, "乡", "镇"))
    taken = {name[:-1] for name in table}
    return _table_then(table, generated[~np.isin(stems, list(taken))], n, "townships")


def _street_names(table: tuple[str, ...], n: int) -> np.ndarray:
    """The table's street (街道) names, then generated ones when ``n`` needs more."""
    if n <= len(table):
        return np.array(table[:n])
    stems = _stems(_STREET_SECOND)
    generated = np.char.add(stems, "街道")
    return _table_then(table, generated[~np.isin(generated, list(table))], n, "streets")


def _table_then(table: tuple[str, ...], generated: np.ndarray, n: int, what: str) -> np.ndarray:
    """The first ``n`` of the table's names followed by the generated ones."""
    out = np.r_[np.array(table), generated][:n]
    if len(out) < n:
        msg = f"{n} {what} asked; the demo's name tables hold {len(out)}"
        raise ValueError(msg)
    return out
