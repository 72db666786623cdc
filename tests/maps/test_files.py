"""Tests for the written maps, the township pictures in the audit workbooks and the map command."""

from __future__ import annotations

import io
import zipfile

from openpyxl import load_workbook
from typer.testing import CliRunner

from servicegrid.cli import app
from servicegrid.maps import add_pictures

runner = CliRunner()


def test_the_demo_writes_a_map_per_township_named_like_its_workbook(demo_maps):
    maps = demo_maps.out / "maps"
    assert (maps / "county.html").exists()
    workbooks = {p.stem for p in (demo_maps.out / "audit" / "townships").glob("*.xlsx")}
    pages = {p.stem for p in (maps / "townships").glob("*.html")}
    assert pages == workbooks
    assert len(pages) == 9
    assert {p.stem for p in (maps / "townships").glob("*.png")} == pages
    assert "maps (10, open in a browser, offline):" in demo_maps.output
    assert str(maps / "county.html") in demo_maps.output


def test_every_township_workbook_has_its_picture_on_the_summary_sheet(demo_maps, demo_data):
    from PIL import Image

    path = next((demo_maps.out / "audit" / "townships").glob("*城关街道.xlsx"))
    sheet = load_workbook(path).worksheets[0]
    assert len(sheet._images) == 1
    with zipfile.ZipFile(path) as archive:
        media = [name for name in archive.namelist() if name.startswith("xl/media/")]
        assert len(media) == 1
        png = archive.read(media[0])
    picture = Image.open(io.BytesIO(png))
    assert picture.format == "PNG"
    assert picture.width > 600
    colours = {rgb for _, rgb in picture.convert("RGB").getcolors(1 << 20)}
    assert (0xFD, 0x8D, 0x3C) in colours  # compounds beyond the radius, in the map's orange
    title = sheet.cell(row=1, column=1).value
    # adding again replaces the picture and keeps the sheet
    add_pictures(demo_maps.out / "audit", {"990101001": png}, demo_data)
    again = load_workbook(path).worksheets[0]
    assert len(again._images) == 1
    assert again.cell(row=1, column=1).value == title


def test_the_map_command_draws_one_township_from_written_results(demo_maps, tmp_path):
    out = demo_maps.out
    result = runner.invoke(
        app,
        [
            "map",
            str(out / "demo-county.gpkg"),
            "--coverage",
            str(out / "coverage.gpkg"),
            "--plan",
            str(out / "plan.gpkg"),
            "--audit",
            str(out / "audit"),
            "--township",
            "990101001",
            "--out",
            str(tmp_path / "maps"),
        ],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    assert [p.name for p in (tmp_path / "maps" / "townships").glob("*.html")] == [
        "990101001000_城关街道.html"
    ]
    assert (tmp_path / "maps" / "county.html").exists()
    assert "党群服务阵地（按评级）" in result.output
    assert "顶点" in result.output
    assert "added the township picture to 1 workbooks" in result.output


def test_the_map_command_names_a_missing_results_file_in_one_line(demo_maps, tmp_path):
    out = demo_maps.out
    result = runner.invoke(
        app,
        [
            "map",
            str(out / "demo-county.gpkg"),
            "--coverage",
            str(tmp_path / "nope.gpkg"),
            "--out",
            str(tmp_path),
        ],
    )
    assert result.exit_code == 1
    assert "coverage results not found" in result.output
    assert "Traceback" not in result.output
    bad = runner.invoke(
        app, ["map", str(out / "demo-county.gpkg"), "--basemap", "tianditu", "--out", str(tmp_path)]
    )
    assert bad.exit_code == 1
    assert "needs a key" in bad.output
