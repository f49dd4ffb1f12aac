"""Where a wire runs, and where its shape label sits, so neither hides behind a block.

Three kinds of route, chosen by what is in the way (`blocks` answers which block bodies a
rectangle of the scene meets, the wire's own two blocks left out):

- *Plain*: one cubic from the output port to the input port, when nothing is in its way.
- *Arc*: a wire along a row that would run through the blocks between its ends (a residual
  join) rises `ARC_RISE` above them, runs level, and comes down. Auto-layout keeps that
  space free (`engine.layout.ARC_ROOM`).
- *Channel*: a wire to a block further left or in another band of a wrapped layout runs
  out to the right, along a free horizontal channel between the rows (the gap between two
  bands), and into its port from the left. When the way down is blocked, it goes round the
  right edge of everything between the two rows. Its label sits on the channel.

Plain geometry over QPointF/QRectF, so it is tested without a scene.
"""

from __future__ import annotations

from typing import Callable

from PySide6.QtCore import QPointF, QRectF
from PySide6.QtGui import QPainterPath

from torchloom.engine.layout import ARC_RISE

#: Which block bodies (scene rectangles) a scene rectangle meets.
Blocks = Callable[[QRectF], list[QRectF]]

#: How far a wire leaves a port sideways before it turns: less than the space the layout
#: keeps between a port and a label (engine.layout.LABEL_PAD).
BEND = 16.0
#: Clearance kept between a channel wire and the blocks above and below it.
MARGIN = 8.0
#: A channel wire that goes round the right edge runs this far from a channel's edges, so
#: it does not lie on top of the wire between two bands (which runs in the middle).
LANE = 24.0
#: A channel must be free this far either side of where the wire turns into it, so a gap
#: between two columns does not pass for the gap between two rows.
REACH = 200.0
_CORNER = 12.0
#: Ends closer than this in height are on one row (a block's lower input port sits a port
#: or two below its first): a wire between them that has blocks in its way arcs over them.
SAME_ROW = 48.0


def route(start: QPointF, end: QPointF, blocks: Blocks | None = None
          ) -> tuple[QPainterPath, QPointF | None]:
    """The wire's path and, for an arc or a channel, where its label's centre goes (None:
    the middle of the path)."""
    blocks = blocks or (lambda _rect: [])
    forward = end.x() - start.x() > 2 * BEND
    if forward and abs(end.y() - start.y()) < SAME_ROW:
        corridor = QRectF(start.x() + 6, min(start.y(), end.y()) - 4,
                          end.x() - start.x() - 12, abs(end.y() - start.y()) + 8)
        in_way = blocks(corridor)
        if not in_way:
            return plain(start, end), None
        return arc(start, end, min(r.top() for r in in_way) - ARC_RISE)
    if forward and abs(end.y() - start.y()) <= end.x() - start.x():
        path = plain(start, end)  # to a neighbouring row: a gentle S
        if not _path_hits(path, blocks):
            return path, None
    routed = channel(start, end, blocks)
    if routed is not None:
        return routed
    return _detour(start, end), None


def plain(start: QPointF, end: QPointF) -> QPainterPath:
    path = QPainterPath(start)
    dx = max(40.0, abs(end.x() - start.x()) * 0.5)
    path.cubicTo(QPointF(start.x() + dx, start.y()), QPointF(end.x() - dx, end.y()), end)
    return path


def arc(start: QPointF, end: QPointF, level: float) -> tuple[QPainterPath, QPointF]:
    """Up to `level` just after the start, along it, down just before the end."""
    rise = min(60.0, (end.x() - start.x()) / 3)
    path = QPainterPath(start)
    path.cubicTo(QPointF(start.x() + rise * 0.6, start.y()), QPointF(start.x() + rise * 0.4, level),
                 QPointF(start.x() + rise, level))
    path.lineTo(QPointF(end.x() - rise, level))
    path.cubicTo(QPointF(end.x() - rise * 0.4, level), QPointF(end.x() - rise * 0.6, end.y()), end)
    return path, QPointF((start.x() + end.x()) / 2, level)


def channel(start: QPointF, end: QPointF, blocks: Blocks
            ) -> tuple[QPainterPath, QPointF] | None:
    """Out, along a free channel between the two rows, and in; round the right edge when
    the way down is blocked. None when there is no free channel between them."""
    x_out, x_in = start.x() + BEND, end.x() - BEND
    top, bottom = sorted((start.y(), end.y()))
    if bottom - top < 2 * MARGIN:
        return None
    left, right = min(x_out, x_in) - REACH, max(x_out, x_in) + REACH
    gaps = free_gaps(blocks(QRectF(left, top, right - left, bottom - top)), top, bottom)
    for low, high in sorted(gaps, key=lambda g: abs((g[0] + g[1]) / 2 - end.y())):
        # Backward (the wire from one band to the next) in the middle; forward, nearer the
        # end's row, so the two do not lie on top of each other.
        y = (low + high) / 2 if x_in <= x_out else high - LANE if end.y() > start.y() \
            else low + LANE
        crossed = [g for g in gaps if g != (low, high) and top < g[0] and g[1] < bottom
                   and (min(start.y(), y) < g[0] < max(start.y(), y)
                        or min(end.y(), y) < g[0] < max(end.y(), y))]
        if crossed:  # down through a whole band's gaps: go round its edge instead
            continue
        if _clear(blocks, x_out, start.y(), y) and _clear(blocks, x_in, y, end.y()):
            points = [start, QPointF(x_out, start.y()), QPointF(x_out, y), QPointF(x_in, y),
                      QPointF(x_in, end.y()), end]
            return orthogonal(points), QPointF((x_out + x_in) / 2, y)
    # Round the right edge: a channel next to each end, and down beside everything between.
    between = blocks(QRectF(min(left, end.x()), top, 1e6, bottom - top))
    x_edge = max([r.right() for r in between] + [x_out, x_in]) + BEND + LANE
    near_start = _gap_near(blocks(QRectF(x_out, top, x_edge - x_out, bottom - top)), top,
                           bottom, start.y(), toward_top=start.y() > end.y())
    near_end = _gap_near(blocks(QRectF(x_in, top, x_edge - x_in, bottom - top)), top,
                         bottom, end.y(), toward_top=end.y() > start.y())
    if near_start is None or near_end is None:
        return None
    down = end.y() > start.y()
    y1 = near_start[0] + LANE if down else near_start[1] - LANE
    y2 = near_end[1] - LANE if down else near_end[0] + LANE
    y1 = min(max(y1, near_start[0]), near_start[1])
    y2 = min(max(y2, near_end[0]), near_end[1])
    points = [start, QPointF(x_out, start.y()), QPointF(x_out, y1), QPointF(x_edge, y1),
              QPointF(x_edge, y2), QPointF(x_in, y2), QPointF(x_in, end.y()), end]
    return orthogonal(points), QPointF((x_in + x_edge) / 2, y2)


def free_gaps(rects: list[QRectF], top: float, bottom: float) -> list[tuple[float, float]]:
    """The stretches of (top, bottom) that no rectangle (widened by MARGIN) covers, each
    at least room for a label (2 * MARGIN + 18) tall."""
    spans = sorted((r.top() - MARGIN, r.bottom() + MARGIN) for r in rects)
    gaps, y = [], top
    for low, high in spans:
        if low > y:
            gaps.append((y, low))
        y = max(y, high)
    if bottom > y:
        gaps.append((y, bottom))
    return [(a, b) for a, b in gaps if b - a >= 2 * MARGIN + 18]


def _gap_near(rects: list[QRectF], top: float, bottom: float, y: float,
              toward_top: bool) -> tuple[float, float] | None:
    """The free gap nearest to `y` on the side of the other end (not the one `y` is in)."""
    gaps = [g for g in free_gaps(rects, top, bottom)
            if (g[1] <= y + MARGIN if toward_top else g[0] >= y - MARGIN)]
    if not gaps:
        return None
    return max(gaps) if toward_top else min(gaps)


def _clear(blocks: Blocks, x: float, y0: float, y1: float) -> bool:
    low, high = sorted((y0, y1))
    return not blocks(QRectF(x - 2, low, 4, high - low))


def _path_hits(path: QPainterPath, blocks: Blocks) -> bool:
    rects = blocks(path.boundingRect())
    if not rects:
        return False
    for i in range(1, 24):
        point = path.pointAtPercent(i / 24)
        if any(r.contains(point) for r in rects):
            return True
    return False


def orthogonal(points: list[QPointF]) -> QPainterPath:
    """Straight runs through `points`, with rounded corners."""
    path = QPainterPath(points[0])
    for before, corner, after in zip(points, points[1:], points[2:]):
        a = _toward(corner, before, _CORNER)
        b = _toward(corner, after, _CORNER)
        path.lineTo(a)
        path.quadTo(corner, b)
    path.lineTo(points[-1])
    return path


def _toward(frm: QPointF, to: QPointF, distance: float) -> QPointF:
    dx, dy = to.x() - frm.x(), to.y() - frm.y()
    length = (dx * dx + dy * dy) ** 0.5
    if length < 1e-9:
        return QPointF(frm)
    t = min(distance, length / 2) / length
    return QPointF(frm.x() + dx * t, frm.y() + dy * t)


def _detour(start: QPointF, end: QPointF) -> QPainterPath:
    """No free channel (blocks stacked in the way): out, down to halfway, across, in."""
    mid_y = (start.y() + end.y()) / 2
    if abs(end.y() - start.y()) < 40:
        return plain(start, end)
    return orthogonal([start, QPointF(start.x() + BEND, start.y()),
                       QPointF(start.x() + BEND, mid_y), QPointF(end.x() - BEND, mid_y),
                       QPointF(end.x() - BEND, end.y()), end])
