//! `netns-test report`: the report pages failing tests left (`target/netns-test/<test>/report.html`),
//! newest first, and `--open NAME` to open one with the desktop's opener.
//!
//! ```text
//! $ netns-test report
//! failed     2026-12-07 19:35:44  report_page::fixture::down_link_then_panic  target/netns-test/report_page::fixture::down_link_then_panic/report.html
//! timed-out  2026-12-07 19:30:02  forensics::fixture::times_out               target/netns-test/forensics::fixture::times_out/report.html
//! ```
//!
//! The verdict is read from the page (the runner writes it there); a passing test's page is
//! removed when it passes again, so what is listed is what failed last time each test ran.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::SystemTime;

/// One report page.
struct Found {
    test: String,
    verdict: String,
    when: SystemTime,
    path: PathBuf,
}

/// Lists the reports under `dir` (default: `target/netns-test`, else the temporary directory's
/// `netns-test-<uid>`), or opens the one named `open`.
pub(crate) fn run(dir: Option<&Path>, open: Option<&str>) -> ExitCode {
    let dirs: Vec<PathBuf> = match dir {
        Some(d) => vec![d.to_path_buf()],
        None => vec![
            PathBuf::from("target/netns-test"),
            // SAFETY: getuid cannot fail.
            std::env::temp_dir().join(format!("netns-test-{}", unsafe { libc::getuid() })),
        ],
    };
    let mut found: Vec<Found> = dirs.iter().flat_map(|d| reports(d)).collect();
    found.sort_by(|a, b| b.when.cmp(&a.when).then(a.test.cmp(&b.test)));
    let Some(name) = open else {
        if found.is_empty() {
            let where_ = dirs.iter().map(|d| d.display().to_string()).collect::<Vec<_>>().join(" or ");
            println!("no report pages in {where_} (a failing test writes one; NETNS_TEST_REPORT=all for every test)");
            return ExitCode::SUCCESS;
        }
        let vw = found.iter().map(|f| f.verdict.len()).max().unwrap_or(0);
        let tw = found.iter().map(|f| f.test.len()).max().unwrap_or(0);
        for f in &found {
            println!("{:<vw$}  {}  {:<tw$}  {}", f.verdict, local_time(f.when), f.test, f.path.display());
        }
        return ExitCode::SUCCESS;
    };
    // An exact name, else the one test whose name contains NAME.
    let exact: Vec<&Found> =
        found.iter().filter(|f| f.test == name || f.test.ends_with(&format!("::{name}"))).collect();
    let matching: Vec<&Found> =
        if exact.is_empty() { found.iter().filter(|f| f.test.contains(name)).collect() } else { exact };
    let f = match matching.as_slice() {
        [] => {
            eprintln!("netns-test: no report of a test named like `{name}`; `netns-test report` lists them");
            return ExitCode::from(1);
        }
        [one] => one,
        many if many.iter().all(|f| f.test == many[0].test) => many[0],
        many => {
            eprintln!("netns-test: {} reports match `{name}`; name one of them:", many.len());
            for f in many {
                eprintln!("  {}", f.test);
            }
            return ExitCode::from(1);
        }
    };
    let path = std::fs::canonicalize(&f.path).unwrap_or_else(|_| f.path.clone());
    match opener() {
        Some(cmd) => match std::process::Command::new(cmd).arg(&path).status() {
            Ok(s) if s.success() => {
                println!("opened {}", path.display());
                ExitCode::SUCCESS
            }
            Ok(s) => {
                eprintln!("netns-test: {cmd} {} failed ({s}); open it in a browser yourself", path.display());
                ExitCode::from(1)
            }
            Err(e) => {
                eprintln!("netns-test: cannot run {cmd}: {e}; open {} in a browser yourself", path.display());
                ExitCode::from(1)
            }
        },
        None => {
            println!("{}", path.display());
            eprintln!(
                "netns-test: no desktop to open it on (no xdg-open, or no DISPLAY/WAYLAND_DISPLAY): open the file above in a \
                 browser"
            );
            ExitCode::SUCCESS
        }
    }
}

/// The desktop's opener, when there is a desktop.
fn opener() -> Option<&'static str> {
    let desktop = ["DISPLAY", "WAYLAND_DISPLAY"].iter().any(|v| std::env::var_os(v).is_some_and(|s| !s.is_empty()));
    let on_path =
        |c: &str| std::env::var_os("PATH").is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(c).is_file()));
    (desktop && on_path("xdg-open")).then_some("xdg-open")
}

/// The report pages in `dir`'s subdirectories.
fn reports(dir: &Path) -> Vec<Found> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    entries
        .filter_map(|e| {
            let e = e.ok()?;
            let path = e.path().join("report.html");
            let when = std::fs::metadata(&path).ok()?.modified().ok()?;
            let html = std::fs::read_to_string(&path).ok()?;
            Some(Found { test: e.file_name().to_string_lossy().into_owned(), verdict: verdict(&html), when, path })
        })
        .collect()
}

/// The verdict's kind as the page's first verdict region has it (`failed`, `timed-out`,
/// `pending` when the runner has not written it).
fn verdict(html: &str) -> String {
    let Some(i) = html.find("<!--netns-test:verdict-->") else { return "?".into() };
    let rest = &html[i..];
    rest.find("class=\"verdict v-")
        .map(|j| &rest[j + "class=\"verdict v-".len()..])
        .and_then(|r| r.split('"').next())
        .unwrap_or("?")
        .to_string()
}

/// `2026-12-07 19:35:44` in local time (UTC when the local zone is unknown).
fn local_time(t: SystemTime) -> String {
    let secs = t.duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| d.as_secs()) as libc::time_t;
    // SAFETY: localtime_r fills the struct we own.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    if unsafe { libc::localtime_r(&secs, &mut tm) }.is_null() {
        return secs.to_string();
    }
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
        tm.tm_year + 1900,
        tm.tm_mon + 1,
        tm.tm_mday,
        tm.tm_hour,
        tm.tm_min,
        tm.tm_sec
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_verdict_is_read_from_the_page() {
        let html = "<div><!--netns-test:verdict--><span class=\"verdict v-timed-out\" title=\"x\">timed out</span><!--/netns-test:verdict--></div>";
        assert_eq!(verdict(html), "timed-out");
        assert_eq!(verdict("<html></html>"), "?");
    }

    #[test]
    fn reports_are_listed_newest_first_and_found_by_name() {
        let dir = std::env::temp_dir().join(format!("netns-test-cli-report-{}", std::process::id()));
        for (i, (name, kind)) in [("e2e::old", "failed"), ("e2e::new", "timed-out")].iter().enumerate() {
            let d = dir.join(name);
            std::fs::create_dir_all(&d).unwrap();
            let page = format!("<!--netns-test:verdict--><span class=\"verdict v-{kind}\">x</span>");
            std::fs::write(d.join("report.html"), page).unwrap();
            let t = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_700_000_000 + i as u64 * 60);
            std::fs::File::options().write(true).open(d.join("report.html")).unwrap().set_modified(t).unwrap();
        }
        std::fs::create_dir_all(dir.join("e2e::no_page")).unwrap();
        let mut found = reports(&dir);
        found.sort_by(|a, b| b.when.cmp(&a.when));
        let listed: Vec<(&str, &str)> = found.iter().map(|f| (f.test.as_str(), f.verdict.as_str())).collect();
        assert_eq!(listed, [("e2e::new", "timed-out"), ("e2e::old", "failed")]);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
