"""What a stored PDF must show of a record: every figure, formatted as the text prints it.

The track record's per-bucket figures are the one exception in form: the PDF
prints them as the cells of its bucket table (``formatting.track_record_table``),
so those are looked for cell by cell.
"""

from __future__ import annotations

from stock_agent.formatting import key_figures, track_record_bucket_labels, track_record_table
from stock_agent.records import StockAnalysis, StockSnapshot

from eval.pdf import flat


def figures_missing_from_pdf(
    pdf_text: str, snapshot: StockSnapshot, analysis: StockAnalysis
) -> list[tuple[str, str]]:
    """``(label, value)`` of every figure of the record that ``pdf_text`` does not show."""
    text = flat(pdf_text)
    buckets = (
        track_record_bucket_labels(analysis.track_record) if analysis.track_record else frozenset()
    )
    missing = [
        (label, value)
        for label, value in key_figures(snapshot, analysis)
        if label not in buckets and flat(value) not in text
    ]
    if analysis.track_record is not None:
        _, rows, _ = track_record_table(analysis.track_record)
        missing += [(row[0], cell) for row in rows for cell in row if flat(cell) not in text]
    return missing
