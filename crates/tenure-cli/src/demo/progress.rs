//! Progress on stderr: `indicatif` bars on a terminal; elsewhere plain lines
//! (`load: started`, `load: input-03.csv rolled back (…)`), never an escape sequence.

use std::io::Write;
use std::sync::Mutex;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::chart::{human, Style};

pub enum Progress {
    Bars {
        bars: MultiProgress,
        current: Mutex<Option<ProgressBar>>,
        style: Style,
    },
    Plain,
}

impl Progress {
    /// Bars when stderr is a terminal, plain lines otherwise.
    pub fn new(terminal: bool) -> Self {
        if terminal {
            Progress::Bars {
                bars: MultiProgress::with_draw_target(ProgressDrawTarget::stderr()),
                current: Mutex::new(None),
                style: Style::new(true),
            }
        } else {
            Progress::Plain
        }
    }

    fn line(&self, text: &str) {
        match self {
            Progress::Bars { bars, .. } => {
                let _ = bars.println(text);
            }
            Progress::Plain => {
                let mut err = std::io::stderr().lock();
                let _ = writeln!(err, "{text}");
                let _ = err.flush();
            }
        }
    }

    /// A phase starts; `rows`, when known, is how many rows it will go through (a bar on a
    /// terminal).
    pub fn started(&self, phase: &str, rows: Option<u64>) {
        match self {
            Progress::Bars {
                bars,
                current,
                style,
            } => {
                let bar = match rows {
                    Some(n) => {
                        let bar = ProgressBar::new(n);
                        let template = if style.colour() {
                            "{prefix:>6} [{bar:32.cyan/blue}] {pos}/{len} rows, {elapsed}"
                        } else {
                            "{prefix:>6} [{bar:32}] {pos}/{len} rows, {elapsed}"
                        };
                        bar.set_style(
                            ProgressStyle::with_template(template)
                                .unwrap_or_else(|_| ProgressStyle::default_bar())
                                .progress_chars("=> "),
                        );
                        bar
                    }
                    None => {
                        let bar = ProgressBar::new_spinner();
                        bar.set_style(
                            ProgressStyle::with_template("{prefix:>6} {spinner} {elapsed}")
                                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
                        );
                        bar.enable_steady_tick(Duration::from_millis(100));
                        bar
                    }
                };
                bar.set_prefix(phase.to_string());
                let bar = bars.add(bar);
                if let Some(old) = current
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .replace(bar)
                {
                    old.finish_and_clear();
                }
            }
            Progress::Plain => self.line(&format!("{phase}: started")),
        }
    }

    /// `n` more rows done in the current phase.
    pub fn rows(&self, n: u64) {
        if let Progress::Bars { current, .. } = self {
            if let Some(bar) = &*current.lock().unwrap_or_else(|p| p.into_inner()) {
                bar.inc(n);
            }
        }
    }

    /// Something worth a line while a phase runs.
    pub fn note(&self, phase: &str, text: &str) {
        self.line(&format!("{phase}: {text}"));
    }

    /// A phase ended after `took`; `outcome` is `success` or `error`.
    pub fn finished(&self, phase: &str, took: Duration, outcome: &str) {
        let text = format!("{phase}: {} in {}", done_word(outcome), human(took));
        match self {
            Progress::Bars { current, style, .. } => {
                if let Some(bar) = current.lock().unwrap_or_else(|p| p.into_inner()).take() {
                    bar.finish_and_clear();
                }
                let code = if outcome == "success" { "32" } else { "31" };
                self.line(&style.paint(code, &text));
            }
            Progress::Plain => self.line(&text),
        }
    }

    /// Clears whatever is drawn, before the report.
    pub fn clear(&self) {
        if let Progress::Bars { bars, current, .. } = self {
            if let Some(bar) = current.lock().unwrap_or_else(|p| p.into_inner()).take() {
                bar.finish_and_clear();
            }
            let _ = bars.clear();
        }
    }
}

fn done_word(outcome: &str) -> &'static str {
    match outcome {
        "success" => "done",
        _ => "failed",
    }
}
