"""Encoding detection for .dbf tables and CSV registers, on bytes built in the tests."""

from __future__ import annotations

import geopandas as gpd
import pyogrio
import pytest
import shapely

from servicegrid.errors import InputError
from servicegrid.geo.encoding import (
    dbf_language_driver,
    dbf_text_bytes,
    detect_dbf_encoding,
    detect_text_encoding,
    normalize_codec,
    sibling,
)

NAMES = ["学院路街道", "清河街道", "东升镇"]
RARE = ["䶮村", "𠀾村", "学院路街道"]  # U+4DAE (CJK Ext-A) and U+2003E (Ext-B) are not in GBK


def write_shapefile(tmp_path, names, encoding, *, keep_cpg=False, stem="towns", column="名称"):
    frame = gpd.GeoDataFrame(
        {column: names, "hh": list(range(1, len(names) + 1))},
        geometry=[shapely.Point(116.3 + i / 100, 40.0) for i in range(len(names))],
        crs=4326,
    )
    path = tmp_path / f"{stem}.shp"
    pyogrio.write_dataframe(frame, path, encoding=encoding)
    if not keep_cpg:
        path.with_suffix(".cpg").unlink()
    return path


def test_rare_characters_really_are_outside_gbk():
    for text in RARE[:2]:
        with pytest.raises(UnicodeEncodeError):
            text.encode("gbk")


def test_dbf_text_bytes_holds_field_names_and_cells(tmp_path):
    shp = write_shapefile(tmp_path, NAMES, "GBK")
    data = dbf_text_bytes(shp.with_suffix(".dbf"))
    lines = [line.rstrip(b" ") for line in data.split(b"\n")]
    # field names first, then one line per character cell
    assert lines == ["名称".encode("gbk"), b"hh", *(name.encode("gbk") for name in NAMES), b""]
    assert dbf_language_driver(shp.with_suffix(".dbf")) == 0  # GDAL writes no language driver


@pytest.mark.parametrize(
    ("names", "written", "codec", "fragment"),
    [
        (
            NAMES,
            "GBK",
            "gbk",
            "encoding GBK detected from the .dbf bytes (no .cpg): the text is not valid UTF-8",
        ),
        (
            RARE,
            "GB18030",
            "gb18030",
            "encoding GB18030 detected from the .dbf bytes (no .cpg): the text is neither UTF-8 nor GBK",
        ),
        (NAMES, "UTF-8", "utf-8", "encoding UTF-8 detected from the .dbf bytes (no .cpg): the text decodes"),
    ],
)
def test_detect_dbf_encoding_without_cpg(tmp_path, names, written, codec, fragment):
    shp = write_shapefile(tmp_path, names, written)
    guess = detect_dbf_encoding(shp)
    assert guess is not None
    assert guess.encoding == codec
    assert guess.reason.startswith(fragment)


def test_empty_cpg_is_treated_as_missing(tmp_path):
    shp = write_shapefile(tmp_path, NAMES, "GBK", keep_cpg=True)
    shp.with_suffix(".cpg").write_text("  \n")
    guess = detect_dbf_encoding(shp)
    assert guess.encoding == "gbk"
    assert "(empty .cpg)" in guess.reason


def test_correct_cpg_is_used(tmp_path):
    shp = write_shapefile(tmp_path, NAMES, "GBK", keep_cpg=True)
    guess = detect_dbf_encoding(shp)
    assert guess.encoding == "gbk"
    assert guess.reason == "encoding GBK from the .cpg file"


def test_cpg_that_contradicts_the_bytes_is_overruled(tmp_path):
    shp = write_shapefile(tmp_path, NAMES, "GBK", keep_cpg=True)
    shp.with_suffix(".cpg").write_text("UTF-8")
    guess = detect_dbf_encoding(shp)
    assert guess.encoding == "gbk"
    assert "(the .cpg says UTF-8 but the .dbf text is not valid UTF-8)" in guess.reason


def test_language_driver_byte_is_reported(tmp_path):
    shp = write_shapefile(tmp_path, NAMES, "GBK")
    dbf = shp.with_suffix(".dbf")
    data = bytearray(dbf.read_bytes())
    data[29] = 0x4D  # code page 936
    dbf.write_bytes(bytes(data))
    assert dbf_language_driver(dbf) == 0x4D
    guess = detect_dbf_encoding(shp)
    assert guess.reason.endswith("the .dbf language driver byte 0x4D (code page 936) agrees")


def test_language_driver_byte_loses_to_the_bytes(tmp_path):
    shp = write_shapefile(tmp_path, NAMES, "UTF-8")
    dbf = shp.with_suffix(".dbf")
    data = bytearray(dbf.read_bytes())
    data[29] = 0x4D
    dbf.write_bytes(bytes(data))
    guess = detect_dbf_encoding(shp)
    assert guess.encoding == "utf-8"
    assert guess.reason.endswith("(code page 936) disagrees, and the bytes win")


def test_given_encoding_is_checked_against_the_bytes(tmp_path):
    shp = write_shapefile(tmp_path, RARE, "GB18030")
    with pytest.raises(
        InputError, match=r"towns\.shp: the \.dbf text is not valid GBK; leave --encoding out"
    ):
        detect_dbf_encoding(shp, encoding="gbk")
    assert detect_dbf_encoding(shp, encoding="GB18030").reason == "encoding GB18030 as given"
    with pytest.raises(InputError, match="unknown encoding 'klingon'"):
        detect_dbf_encoding(shp, encoding="klingon")


def test_ascii_table_needs_no_note(tmp_path):
    shp = write_shapefile(tmp_path, ["Qinghe", "Dongsheng"], "UTF-8", column="name")
    guess = detect_dbf_encoding(shp)
    assert guess.encoding == "utf-8"
    assert guess.reason == ""


def test_missing_dbf_gives_none(tmp_path):
    shp = write_shapefile(tmp_path, NAMES, "UTF-8")
    shp.with_suffix(".dbf").unlink()
    assert detect_dbf_encoding(shp) is None


def test_a_character_cut_at_the_end_of_a_cell_is_tolerated():
    cut = "学院路".encode()[:-1]  # the last character loses its final byte
    data = cut + b"\n" + "街道".encode() + b"\n"
    assert detect_text_encoding(data, source="x.dbf", cells=True).encoding == "utf-8"
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")


def test_single_gbk_characters_are_not_mistaken_for_cut_utf8():
    # each GBK character becomes two replacement characters in UTF-8, never a single cut one
    data = "镇".encode("gbk") + b"\n" + "乡".encode("gbk") + b"\n"
    assert detect_text_encoding(data, source="x.dbf", cells=True).encoding == "gbk"


def test_detect_text_encoding_for_csv_bytes():
    text = "名称,经度,纬度\n学院路党群服务中心,116.35,39.99\n"
    assert detect_text_encoding(text.encode("utf-8"), source="a.csv").encoding == "utf-8"
    assert detect_text_encoding(text.encode("utf-8-sig"), source="a.csv").encoding == "utf-8-sig"
    assert detect_text_encoding(text.encode("gbk"), source="a.csv").encoding == "gbk"
    assert detect_text_encoding("䶮村".encode("gb18030"), source="a.csv").encoding == "gb18030"
    assert detect_text_encoding(b"id,x\n1,2\n", source="a.csv").reason == ""
    with pytest.raises(InputError, match=r"a\.csv: the text is not UTF-8, GBK or GB18030; pass the encoding"):
        detect_text_encoding(b"\xff\xff\x80\x80", source="a.csv")


@pytest.mark.parametrize(
    ("label", "codec"),
    [
        ("UTF-8", "utf-8"),
        ("utf8", "utf-8"),
        ("65001", "utf-8"),
        ("936", "gbk"),
        ("CP936", "gbk"),
        ("GB2312", "gbk"),
        ("GB18030", "gb18030"),
        ("1252", "cp1252"),
        ("", None),
        ("nonsense", None),
    ],
)
def test_normalize_codec(label, codec):
    assert normalize_codec(label) == codec


def test_sibling_finds_any_letter_case(tmp_path):
    (tmp_path / "A.SHP").write_bytes(b"")
    (tmp_path / "A.DBF").write_bytes(b"")
    assert sibling(tmp_path / "A.SHP", ".dbf") == tmp_path / "A.DBF"
    assert sibling(tmp_path / "A.SHP", ".cpg") is None


def test_cpg_naming_a_western_code_page_for_gbk_bytes_is_detected(tmp_path):
    """GBK bytes under a .cpg of 1252: Latin mojibake without a word before (issue 10, item 12)."""
    names = ["城关镇", "青山镇", "东街道"]
    assert all(n.encode("gbk").decode("cp1252") for n in names)  # a strict cp1252 decode succeeds
    shp = write_shapefile(tmp_path, names, "GBK", keep_cpg=True)
    shp.with_suffix(".cpg").write_text("1252")
    guess = detect_dbf_encoding(shp)
    assert guess.encoding == "gbk"
    assert guess.reason.startswith(
        "warning: the .cpg says '1252' (CP1252), but the .dbf text is Chinese in GBK"
    )
    from servicegrid.geo.readers import read_source

    result = read_source(shp, "settlements")
    assert result.frame["name"].tolist() == names
    assert guess.reason in result.notes


def test_western_text_under_its_own_cpg_is_left_alone(tmp_path):
    names = ["Café Müller", "Ærøskøbing", "Straße"]
    shp = write_shapefile(tmp_path, names, "cp1252", keep_cpg=True, column="name")
    shp.with_suffix(".cpg").write_text("1252")
    guess = detect_dbf_encoding(shp)
    assert guess.encoding == "cp1252"
    assert guess.reason == "encoding CP1252 from the .cpg file"
