//! Small server-rendered SVG charts (no JavaScript, no external assets).

/// Horizontal bar chart of labelled counts, as an accessible inline SVG.
pub fn bars(data: &[(String, i64)], title: &str) -> String {
    let max = data.iter().map(|d| d.1).max().unwrap_or(0);
    bars_to(data, title, max)
}

/// Horizontal bar chart of percentages: a full bar is 100.
pub fn percent_bars(data: &[(String, i64)], title: &str) -> String {
    bars_to(data, title, 100)
}

fn bars_to(data: &[(String, i64)], title: &str, max: i64) -> String {
    let max = max.max(1);
    let row = 30;
    let label_w = 110;
    let bar_w = 220;
    let h = row * data.len() as i64 + 10;
    let mut s = format!(
        "<svg class=\"chart\" role=\"img\" aria-label=\"{}\" viewBox=\"0 0 {} {h}\" width=\"100%\" preserveAspectRatio=\"xMinYMin meet\">",
        esc(title),
        label_w + bar_w + 60
    );
    for (i, (label, n)) in data.iter().enumerate() {
        let y = i as i64 * row + 5;
        let w = (*n * bar_w / max).max(if *n > 0 { 2 } else { 0 });
        s.push_str(&format!(
            "<text x=\"0\" y=\"{}\">{}</text><rect class=\"bar\" x=\"{label_w}\" y=\"{}\" width=\"{w}\" height=\"18\" rx=\"3\"></rect><text x=\"{}\" y=\"{}\">{n}</text>",
            y + 15,
            esc(label),
            y + 2,
            label_w + w + 6,
            y + 15
        ));
    }
    s.push_str("</svg>");
    s
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    #[test]
    fn bars_scale_and_escape() {
        let svg = super::bars(&[("正式党员".into(), 10), ("<x>".into(), 5)], "t");
        assert!(svg.contains("width=\"220\""));
        assert!(svg.contains("width=\"110\""));
        assert!(svg.contains("&lt;x&gt;"));
    }

    #[test]
    fn percent_bars_scale_to_a_hundred() {
        let svg = super::percent_bars(&[("党课".into(), 50)], "t");
        assert!(svg.contains("width=\"110\""), "{svg}");
    }
}
