//! PDF documents of the platform — certificates of organizational life
//! (issue 6) and, later, the admission forms — rendered with Typst used as a
//! library.
//!
//! A document is a Typst template (`templates/*.typ`, embedded in the
//! binary; an administrator may put an adjusted copy with the same name in
//! the configured template directory) plus one JSON value that the template
//! reads as `json(bytes(sys.inputs.data))`. Nothing else reaches the
//! template: no file access, no packages, no network.
//!
//! Fonts: the binary carries a subset of Noto Sans CJK SC (SIL OFL 1.1,
//! `fonts/OFL.txt`; made by `tools/subset_cjk_font.py`): ASCII, Latin-1,
//! punctuation, full-width forms and every hanzi of GB 2312 plus the
//! templates' own characters. A name with a character outside it (a rare
//! hanzi such as 䶮) is rendered from the optional fallback font file
//! (`docs_fallback_font`, e.g. the full NotoSansCJK-Regular.ttc) when one is
//! configured; otherwise [`Renderer::missing`] names the characters, the
//! caller logs them and the document carries a visible note — never silent
//! tofu.

use std::path::{Path, PathBuf};

use serde::Serialize;
use typst::diag::{FileError, FileResult, Severity, SourceDiagnostic};
use typst::foundations::{Bytes, Datetime, Dict, IntoValue, Str};
use typst::syntax::{FileId, Source};
use typst::text::{Font, FontBook};
use typst::utils::LazyHash;
use typst::{Library, LibraryExt, World};
use typst_layout::PagedDocument;

/// The embedded CJK font subset.
pub const FONT_SUBSET: &[u8] = include_bytes!("../fonts/NotoSansSC-Subset.otf");
/// Its licence, to be shipped with the binary (served at `/licenses/font`).
pub const FONT_LICENSE: &str = include_str!("../fonts/OFL.txt");

/// The embedded templates by name.
const TEMPLATES: &[(&str, &str)] = &[
    ("certificate", include_str!("../templates/certificate.typ")),
    (
        "admission_form",
        include_str!("../templates/admission_form.typ"),
    ),
];

/// What can go wrong rendering a document.
#[derive(Debug, thiserror::Error)]
pub enum DocsError {
    #[error("unknown template {0}")]
    UnknownTemplate(String),
    #[error("template {name}: {message}")]
    Template { name: String, message: String },
    #[error("font {path}: {message}")]
    Font { path: PathBuf, message: String },
    #[error("PDF export: {0}")]
    Export(String),
}

/// Where templates and the fallback font come from.
#[derive(Debug, Clone, Default)]
pub struct RenderOptions {
    /// A directory whose `<name>.typ` files replace the embedded templates.
    pub template_dir: Option<PathBuf>,
    /// A full font file (OTF, TTF or TTC: every face is loaded) used for
    /// characters outside the embedded subset.
    pub fallback_font: Option<PathBuf>,
}

/// Renders templates to PDF. Parsing the fonts is the costly part, so keep
/// one and share it (it is `Send + Sync`).
pub struct Renderer {
    fonts: Vec<Font>,
    book: LazyHash<FontBook>,
    template_dir: Option<PathBuf>,
}

impl Renderer {
    /// The embedded subset and, when configured, the fallback font.
    pub fn new(options: &RenderOptions) -> Result<Self, DocsError> {
        let mut fonts: Vec<Font> = Font::iter(Bytes::new(FONT_SUBSET)).collect();
        if fonts.is_empty() {
            return Err(DocsError::Font {
                path: PathBuf::from("NotoSansSC-Subset.otf"),
                message: "the embedded font does not parse".into(),
            });
        }
        if let Some(path) = &options.fallback_font {
            let data = std::fs::read(path).map_err(|e| DocsError::Font {
                path: path.clone(),
                message: e.to_string(),
            })?;
            let before = fonts.len();
            fonts.extend(Font::iter(Bytes::new(data)));
            if fonts.len() == before {
                return Err(DocsError::Font {
                    path: path.clone(),
                    message: "no font face in the file".into(),
                });
            }
        }
        let book = LazyHash::new(FontBook::from_fonts(&fonts));
        Ok(Self {
            fonts,
            book,
            template_dir: options.template_dir.clone(),
        })
    }

    /// Characters of `text` that no loaded font can show (control
    /// characters aside), each once, in order of appearance.
    pub fn missing(&self, text: &str) -> Vec<char> {
        let mut out: Vec<char> = Vec::new();
        for c in text.chars() {
            if c.is_control() || out.contains(&c) {
                continue;
            }
            if !self
                .fonts
                .iter()
                .any(|f| f.info().coverage.contains(c as u32))
            {
                out.push(c);
            }
        }
        out
    }

    /// The text of template `name`: the administrator's copy in the
    /// template directory when there is one, else the embedded one.
    pub fn template(&self, name: &str) -> Result<String, DocsError> {
        let embedded = TEMPLATES
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, t)| *t)
            .ok_or_else(|| DocsError::UnknownTemplate(name.into()))?;
        if let Some(dir) = &self.template_dir {
            let p = dir.join(format!("{name}.typ"));
            match std::fs::read_to_string(&p) {
                Ok(t) => return Ok(t),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => {
                    return Err(DocsError::Template {
                        name: name.into(),
                        message: format!("{}: {e}", p.display()),
                    });
                }
            }
        }
        Ok(embedded.to_string())
    }

    /// Renders template `name` with `data` (read by the template as
    /// `json(bytes(sys.inputs.data))`) to PDF bytes.
    pub fn render<T: Serialize>(&self, name: &str, data: &T) -> Result<Vec<u8>, DocsError> {
        let text = self.template(name)?;
        self.render_source(name, &text, data)
    }

    /// Renders the Typst source `text` (named `name` in errors) with `data`.
    pub fn render_source<T: Serialize>(
        &self,
        name: &str,
        text: &str,
        data: &T,
    ) -> Result<Vec<u8>, DocsError> {
        let json = serde_json::to_string(data).map_err(|e| DocsError::Template {
            name: name.into(),
            message: e.to_string(),
        })?;
        let mut inputs = Dict::new();
        inputs.insert(Str::from("data"), Str::from(json.as_str()).into_value());
        let source = Source::detached(text.to_string());
        let world = DocWorld {
            library: LazyHash::new(Library::builder().with_inputs(inputs).build()),
            book: &self.book,
            fonts: &self.fonts,
            source,
        };
        let template_err = |diags: &[SourceDiagnostic]| DocsError::Template {
            name: name.into(),
            message: diags
                .iter()
                .filter(|d| d.severity == Severity::Error)
                .map(|d| d.message.to_string())
                .collect::<Vec<_>>()
                .join("; "),
        };
        let warned = typst::compile::<PagedDocument>(&world);
        for w in &warned.warnings {
            tracing::warn!(template = name, warning = %w.message, "document template");
        }
        let doc = warned.output.map_err(|d| template_err(d.as_slice()))?;
        let pdf = typst_pdf::pdf(&doc, &typst_pdf::PdfOptions::default())
            .map_err(|d| DocsError::Export(template_err(d.as_slice()).to_string()))?;
        // Typst memoizes across compilations; drop what five renders did not reuse.
        typst::comemo::evict(5);
        Ok(pdf)
    }
}

/// The world of one render: the template as the only file, the shared fonts.
struct DocWorld<'a> {
    library: LazyHash<Library>,
    book: &'a LazyHash<FontBook>,
    fonts: &'a [Font],
    source: Source,
}

impl World for DocWorld<'_> {
    fn library(&self) -> &LazyHash<Library> {
        &self.library
    }

    fn book(&self) -> &LazyHash<FontBook> {
        self.book
    }

    fn main(&self) -> FileId {
        self.source.id()
    }

    fn source(&self, id: FileId) -> FileResult<Source> {
        if id == self.source.id() {
            Ok(self.source.clone())
        } else {
            Err(FileError::AccessDenied)
        }
    }

    fn file(&self, id: FileId) -> FileResult<Bytes> {
        if id == self.source.id() {
            Ok(Bytes::from_string(self.source.clone()))
        } else {
            Err(FileError::AccessDenied)
        }
    }

    fn font(&self, index: usize) -> Option<Font> {
        self.fonts.get(index).cloned()
    }

    /// Templates get their dates as data; `datetime.today()` is refused so
    /// a rendered document depends on its data only.
    fn today(&self, _offset: Option<typst::foundations::Duration>) -> Option<Datetime> {
        None
    }
}

/// The QR code of `text` as SVG, for a template's `image(bytes(..))`.
pub fn qr_svg(text: &str) -> Result<String, DocsError> {
    let q = qrcode::QrCode::new(text.as_bytes()).map_err(|e| DocsError::Template {
        name: "qr".into(),
        message: e.to_string(),
    })?;
    Ok(q.render::<qrcode::render::svg::Color>()
        .min_dimensions(200, 200)
        .quiet_zone(true)
        .build())
}

/// The data of a certificate of organizational life (issue 6).
#[derive(Debug, Clone, Serialize)]
pub struct CertificateData {
    /// The member's name.
    pub name: String,
    /// The organization that held the meeting.
    pub org: String,
    /// Meeting kind label, e.g. 支部党员大会.
    pub kind: String,
    pub title: String,
    /// Meeting date, e.g. 2026年11月28日.
    pub date: String,
    pub number: String,
    /// Issue time as shown.
    pub issued: String,
    /// The public verification URL (also in the QR code).
    pub url: String,
    /// The verifier key (base64 Ed25519 public key).
    pub key: String,
    /// A visible note when characters could not be shown, else empty.
    pub note: String,
}

#[derive(Serialize)]
struct CertificateInputs<'a> {
    #[serde(flatten)]
    data: &'a CertificateData,
    qr: String,
}

impl Renderer {
    /// The certificate PDF. Characters no font can show are logged and
    /// named in a visible note on the certificate.
    pub fn certificate(&self, data: &CertificateData) -> Result<Vec<u8>, DocsError> {
        let mut data = data.clone();
        let all = format!("{}{}{}{}", data.name, data.org, data.title, data.kind);
        let missing = self.missing(&all);
        if !missing.is_empty() {
            tracing::warn!(
                number = %data.number,
                chars = %missing.iter().map(|c| format!("U+{:04X}", *c as u32)).collect::<Vec<_>>().join(" "),
                "certificate: characters outside the embedded font and no fallback font covers them (set docs_fallback_font)"
            );
            data.note = format!(
                "注：本证明中有{}个字符（{}）无法以内嵌字体显示，请以核验页面为准。",
                missing.len(),
                missing
                    .iter()
                    .map(|c| format!("U+{:04X}", *c as u32))
                    .collect::<Vec<_>>()
                    .join("、")
            );
        }
        let qr = qr_svg(&data.url)?;
        self.render("certificate", &CertificateInputs { data: &data, qr })
    }
}

/// One recorded step of an admission form: its heading, when it was
/// recorded, and its fields as (label, value).
#[derive(Debug, Clone, Serialize)]
pub struct FormSection {
    pub heading: String,
    pub recorded: String,
    pub rows: Vec<(String, String)>,
}

/// An admission form (issue 8, "fill once"): generated from the admission
/// record, never typed again.
#[derive(Debug, Clone, Serialize)]
pub struct AdmissionFormData {
    /// e.g. 入党积极分子登记表.
    pub title: String,
    /// The English name.
    pub subtitle: String,
    pub org: String,
    /// The applicant's data as (label, value).
    pub person: Vec<(String, String)>,
    pub sections: Vec<FormSection>,
    /// Printed in the footer, e.g. the admission number.
    pub reference: String,
    pub generated: String,
    /// A visible note when characters could not be shown, else empty.
    pub note: String,
}

impl Renderer {
    /// An admission form PDF; characters no font can show are logged and
    /// named in a visible note.
    pub fn admission_form(&self, data: &AdmissionFormData) -> Result<Vec<u8>, DocsError> {
        let mut data = data.clone();
        let mut all = format!("{}{}", data.org, data.title);
        for (k, v) in &data.person {
            all.push_str(k);
            all.push_str(v);
        }
        for s in &data.sections {
            all.push_str(&s.heading);
            for (k, v) in &s.rows {
                all.push_str(k);
                all.push_str(v);
            }
        }
        let missing = self.missing(&all);
        if !missing.is_empty() {
            let codes: Vec<String> = missing
                .iter()
                .map(|c| format!("U+{:04X}", *c as u32))
                .collect();
            tracing::warn!(
                reference = %data.reference,
                chars = %codes.join(" "),
                "admission form: characters outside the embedded font and no fallback font covers them (set docs_fallback_font)"
            );
            data.note = format!(
                "注：本表中有{}个字符（{}）无法以内嵌字体显示，请以系统记录为准。",
                missing.len(),
                codes.join("、")
            );
        }
        self.render("admission_form", &data)
    }
}

/// The file name of a template directory entry (for documentation and the
/// CLI: which files an administrator may place there).
pub fn template_names() -> impl Iterator<Item = &'static str> {
    TEMPLATES.iter().map(|(n, _)| *n)
}

/// Whether `dir` holds an adjusted copy of template `name`.
pub fn has_override(dir: &Path, name: &str) -> bool {
    dir.join(format!("{name}.typ")).is_file()
}
