//! The docs crate renders PDFs whose text (extracted by an independent
//! parser) carries the Chinese data; characters outside the font subset are
//! named, never silently dropped.

use dangjian_docs::{CertificateData, RenderOptions, Renderer};

fn sample(name: &str) -> CertificateData {
    CertificateData {
        name: name.into(),
        org: "第一党支部".into(),
        kind: "支部党员大会".into(),
        title: "学习贯彻党的二十大精神".into(),
        date: "2026年11月28日".into(),
        number: "ZS7K-M2QF-8D4N-XW3P".into(),
        issued: "2026-11-28 10:30".into(),
        url: "https://dj.example.cn/verify/certificate/ZS7K-M2QF-8D4N-XW3P".into(),
        key: "MCowBQYDK2VwAyEA".into(),
        note: String::new(),
    }
}

fn text_of(pdf: &[u8]) -> String {
    pdf_extract::extract_text_from_mem(pdf).expect("the PDF parses")
}

#[test]
fn certificate_pdf_carries_the_chinese_name() {
    let r = Renderer::new(&RenderOptions::default()).unwrap();
    let pdf = r.certificate(&sample("张卫国")).unwrap();
    if let Ok(p) = std::env::var("DJ_DOCS_DUMP") {
        std::fs::write(p, &pdf).unwrap();
    }
    assert!(pdf.starts_with(b"%PDF-"));
    let text: String = text_of(&pdf).split_whitespace().collect();
    for want in [
        "张卫国",
        "组织生活电子证明",
        "第一党支部",
        "支部党员大会",
        "学习贯彻党的二十大精神",
        "ZS7K-M2QF-8D4N-XW3P",
    ] {
        assert!(text.contains(want), "{want} missing from: {text}");
    }
}

#[test]
fn the_subset_covers_gb2312_and_names_what_it_lacks() {
    let r = Renderer::new(&RenderOptions::default()).unwrap();
    // Common and less common GB 2312 hanzi, full-width punctuation.
    assert!(
        r.missing("张王李赵钱孙周吴郑冯陈褚卫蒋沈韩杨朱秦尤许何吕施（）、。")
            .is_empty()
    );
    // 䶮 (U+4DAE, CJK Extension A) is outside GB 2312.
    assert_eq!(r.missing("刘䶮"), vec!['䶮']);
}

#[test]
fn a_character_outside_the_subset_gets_a_visible_note() {
    let r = Renderer::new(&RenderOptions::default()).unwrap();
    let pdf = r.certificate(&sample("刘䶮")).unwrap();
    let text: String = text_of(&pdf).split_whitespace().collect();
    assert!(text.contains("U+4DAE"), "{text}");
    assert!(text.contains("无法以内嵌字体显示"), "{text}");
}

#[test]
fn a_fallback_font_file_that_is_missing_is_an_error() {
    let e = Renderer::new(&RenderOptions {
        fallback_font: Some("/nonexistent/font.ttc".into()),
        template_dir: None,
    });
    assert!(e.is_err());
}

#[test]
fn an_adjusted_template_replaces_the_embedded_one() {
    let dir = std::env::temp_dir().join(format!("dj-docs-tpl-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("certificate.typ"),
        "#let d = json(bytes(sys.inputs.data))\n#set text(font: \"Noto Sans CJK SC\")\n自定义模板：#d.name",
    )
    .unwrap();
    let r = Renderer::new(&RenderOptions {
        template_dir: Some(dir.clone()),
        fallback_font: None,
    })
    .unwrap();
    let text: String = text_of(&r.certificate(&sample("王芳")).unwrap())
        .split_whitespace()
        .collect();
    assert!(text.contains("自定义模板：王芳"), "{text}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_broken_template_is_an_error_not_a_panic() {
    let r = Renderer::new(&RenderOptions::default()).unwrap();
    let e = r.render_source("broken", "#let x = (", &serde_json::json!({}));
    assert!(e.is_err());
}

#[test]
fn a_configured_full_font_covers_what_the_subset_lacks() {
    let full = std::path::Path::new("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc");
    if !full.exists() {
        eprintln!("skipped: {} is not installed", full.display());
        return;
    }
    let r = Renderer::new(&RenderOptions {
        fallback_font: Some(full.into()),
        template_dir: None,
    })
    .unwrap();
    assert!(r.missing("刘䶮").is_empty());
    let text: String = text_of(&r.certificate(&sample("刘䶮")).unwrap())
        .split_whitespace()
        .collect();
    assert!(text.contains("刘䶮"), "{text}");
    assert!(!text.contains("U+4DAE"), "{text}");
}

#[test]
fn admission_form_pdf_carries_the_record() {
    use dangjian_docs::{AdmissionFormData, FormSection};
    let r = Renderer::new(&RenderOptions::default()).unwrap();
    let data = AdmissionFormData {
        title: "入党积极分子登记表".into(),
        subtitle: "Activist registration".into(),
        org: "青松村党支部".into(),
        person: vec![
            ("姓名".into(), "李晓梅".into()),
            ("民族".into(), "汉族".into()),
        ],
        sections: vec![FormSection {
            heading: "3. 确定入党积极分子".into(),
            recorded: "2026-03-01 09:00".into(),
            rows: vec![
                ("支委会决定日期".into(), "2026-03-01".into()),
                ("推荐方式".into(), "群团组织推优".into()),
            ],
        }],
        reference: "发展党员档案 12".into(),
        generated: "2026-11-28 10:00".into(),
        note: String::new(),
    };
    let text: String = text_of(&r.admission_form(&data).unwrap())
        .split_whitespace()
        .collect();
    for want in [
        "入党积极分子登记表",
        "李晓梅",
        "青松村党支部",
        "群团组织推优",
        "2026-03-01",
    ] {
        assert!(text.contains(want), "{want} missing from: {text}");
    }
    // Every character of the embedded templates is in the subset.
    for name in dangjian_docs::template_names() {
        let t = r.template(name).unwrap();
        assert!(r.missing(&t).is_empty(), "{name}: {:?}", r.missing(&t));
    }
}
