"""SVG chart of chat latency percentiles against throughput (standard library only)."""
import math

SERIES = [("p50", "#1f77b4"), ("p90", "#ff7f0e"), ("p99", "#d62728"), ("p999", "#7f7f7f")]
LABELS = {"p50": "p50", "p90": "p90", "p99": "p99", "p999": "p99.9"}


def points(results):
    """(throughput, {percentile: ms}) for every chat run, sorted by throughput."""
    runs = [(results.get("chatMax"), True)] + [(run, False) for run in (results.get("chatRates") or {}).values()]
    out = []
    for run, closed_loop in runs:
        chat = (run or {}).get("chat")
        if chat and chat.get("latency", {}).get("count"):
            latency = {k: chat["latency"][k] / 1000.0 for k, _ in SERIES}
            latency["closedLoop"] = closed_loop
            out.append((chat["throughput"], latency))
    return sorted(out, key=lambda p: p[0])


def latency_chart(results, xadd_per_second, baseline=None):
    width, height = 780, 440
    left, right, top, bottom = 70, 150, 40, 55
    pw, ph = width - left - right, height - top - bottom
    pts = points(results)
    before = [p for p in points(baseline) if not p[1]["closedLoop"]] if baseline else []
    svg = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
           'font-family="Helvetica, Arial, sans-serif" font-size="12">',
           f'<rect width="{width}" height="{height}" fill="white"/>',
           f'<text x="{left}" y="22" font-size="15" font-weight="bold">Chat end-to-end latency against throughput '
           '(customer → agent)</text>']
    if not pts:
        svg.append(f'<text x="{left}" y="{top + 40}">no chat results</text></svg>')
        return "\n".join(svg)
    goal_x = 0.30 * xadd_per_second if xadd_per_second else None
    x_max = max([p[0] for p in pts + before] + ([goal_x] if goal_x else [])) * 1.08
    y_values = [lat[k] for _, lat in pts + before for k, _ in SERIES if lat[k] > 0] + [0.5, 5.0]
    y_lo = 10 ** math.floor(math.log10(min(y_values)))
    y_hi = 10 ** math.ceil(math.log10(max(y_values)))

    def sx(x):
        return left + pw * x / x_max

    def sy(y):
        y = max(y, y_lo)
        return top + ph * (1 - (math.log10(y) - math.log10(y_lo)) / (math.log10(y_hi) - math.log10(y_lo)))

    svg.append(f'<rect x="{left}" y="{top}" width="{pw}" height="{ph}" fill="none" stroke="#333"/>')
    decade = y_lo
    while decade <= y_hi * 1.001:
        for m in range(1, 10):
            y = decade * m
            if y > y_hi * 1.001:
                break
            major = m == 1
            svg.append(f'<line x1="{left}" x2="{left + pw}" y1="{sy(y):.1f}" y2="{sy(y):.1f}" '
                       f'stroke="{"#ccc" if major else "#eee"}"/>')
            if major:
                label = f"{y:g}"
                svg.append(f'<text x="{left - 6}" y="{sy(y) + 4:.1f}" text-anchor="end">{label}</text>')
        decade *= 10
    step = nice_step(x_max / 6)
    x = 0.0
    while x <= x_max:
        svg.append(f'<line x1="{sx(x):.1f}" x2="{sx(x):.1f}" y1="{top}" y2="{top + ph}" stroke="#eee"/>')
        svg.append(f'<text x="{sx(x):.1f}" y="{top + ph + 16}" text-anchor="middle">{x:,.0f}</text>')
        x += step
    svg.append(f'<text x="{left + pw / 2}" y="{height - 12}" text-anchor="middle">delivered messages per second</text>')
    svg.append(f'<text x="16" y="{top + ph / 2}" text-anchor="middle" transform="rotate(-90 16 {top + ph / 2})">'
               'latency, ms (log scale)</text>')
    for value, text in ((1.0, "p50 goal 1 ms"), (5.0, "p99 goal 5 ms")):
        svg.append(f'<line x1="{left}" x2="{left + pw}" y1="{sy(value):.1f}" y2="{sy(value):.1f}" stroke="#2ca02c" '
                   'stroke-dasharray="6 4"/>')
        svg.append(f'<text x="{left + pw - 4}" y="{sy(value) - 4:.1f}" text-anchor="end" fill="#2ca02c">{text}</text>')
    if goal_x:
        svg.append(f'<line x1="{sx(goal_x):.1f}" x2="{sx(goal_x):.1f}" y1="{top}" y2="{top + ph}" stroke="#2ca02c" '
                   'stroke-dasharray="6 4"/>')
        svg.append(f'<text x="{sx(goal_x) - 4:.1f}" y="{top + 14}" text-anchor="end" fill="#2ca02c">throughput goal '
                   f'{goal_x:,.0f}/s (0.30 × XADD)</text>')
    for key, color in SERIES:
        if before and key in ("p50", "p99"):
            coords = " ".join(f"{sx(x):.1f},{sy(lat[key]):.1f}" for x, lat in before)
            svg.append(f'<polyline points="{coords}" fill="none" stroke="{color}" stroke-width="1.5" '
                       'stroke-dasharray="5 4" opacity="0.6"/>')
    for key, color in SERIES:
        coords = " ".join(f"{sx(x):.1f},{sy(lat[key]):.1f}" for x, lat in pts if not lat["closedLoop"])
        svg.append(f'<polyline points="{coords}" fill="none" stroke="{color}" stroke-width="2"/>')
        for x, lat in pts:
            if lat["closedLoop"]:
                svg.append(f'<rect x="{sx(x) - 4:.1f}" y="{sy(lat[key]) - 4:.1f}" width="8" height="8" fill="white" '
                           f'stroke="{color}" stroke-width="2"/>')
            else:
                svg.append(f'<circle cx="{sx(x):.1f}" cy="{sy(lat[key]):.1f}" r="3.5" fill="{color}"/>')
    for i, (key, color) in enumerate(SERIES):
        y = top + 10 + i * 20
        svg.append(f'<line x1="{left + pw + 16}" x2="{left + pw + 40}" y1="{y}" y2="{y}" stroke="{color}" stroke-width="2"/>')
        svg.append(f'<text x="{left + pw + 46}" y="{y + 4}">{LABELS[key]}</text>')
    svg.append(f'<circle cx="{left + pw + 28}" cy="{top + 96}" r="3.5" fill="#555"/>')
    svg.append(f'<text x="{left + pw + 46}" y="{top + 100}" font-size="11">fixed rate</text>')
    svg.append(f'<rect x="{left + pw + 24}" y="{top + 112}" width="8" height="8" fill="white" stroke="#555" stroke-width="2"/>')
    svg.append(f'<text x="{left + pw + 46}" y="{top + 120}" font-size="11">maximum</text>')
    svg.append(f'<text x="{left + pw + 46}" y="{top + 134}" font-size="11">(closed loop)</text>')
    if before:
        svg.append(f'<line x1="{left + pw + 16}" x2="{left + pw + 40}" y1="{top + 152}" y2="{top + 152}" stroke="#555" '
                   'stroke-dasharray="5 4" opacity="0.6"/>')
        svg.append(f'<text x="{left + pw + 46}" y="{top + 156}" font-size="11">before fixes</text>')
        svg.append(f'<text x="{left + pw + 46}" y="{top + 170}" font-size="11">(p50, p99)</text>')
    svg.append("</svg>")
    return "\n".join(svg) + "\n"


def nice_step(raw):
    magnitude = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 2.5, 5, 10):
        if raw <= factor * magnitude:
            return factor * magnitude
    return 10 * magnitude
