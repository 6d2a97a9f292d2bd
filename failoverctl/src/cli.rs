//! The command line: what each command takes, and the exit codes.

use std::path::PathBuf;

use chrono::{DateTime, Utc};
use clap::{Args, Parser, Subcommand, ValueEnum};

pub const EXIT_CODES: &str = "\
Exit codes:
  0  done (status: every region healthy, no incident open)
  1  the operation failed: AWS or a function answered an error (the message says whether a retry can help)
  2  bad usage: an unknown region, incident or stack, a refused request (nothing was changed)
  3  status: an incident is open (the orchestrator is at work)
  4  status: a region is down and no open incident holds it (escalated or not detected: a person should look)
  5  readiness: a check fails (a recovery that began now would not work unattended)";

#[derive(Debug, Parser)]
#[command(
    name = "failoverctl",
    version,
    about = "Operate the failover orchestrator: status, incidents and their reports, manual triggers, break glass",
    after_help = EXIT_CODES
)]
pub struct Cli {
    #[command(flatten)]
    pub target: Target,

    /// Print JSON (for scripts) instead of tables.
    #[arg(long, global = true)]
    pub json: bool,

    #[command(subcommand)]
    pub command: Command,
}

/// Which deployment to talk to.
#[derive(Debug, Clone, Args)]
pub struct Target {
    /// The deployed stack (default: `stack_name` in samconfig.toml, looked up
    /// from the current directory upwards).
    #[arg(long, global = true, conflicts_with = "local")]
    pub stack: Option<String>,

    /// The stack's AWS region (default: `region` in samconfig.toml, else us-east-1).
    #[arg(long, global = true, conflicts_with = "local")]
    pub stack_region: Option<String>,

    /// Talk to the local cloud (`scripts/local-cloud up`) instead of a stack:
    /// its .local-cloud/endpoints.env (looked up from the current directory
    /// upwards) gives the endpoints and the operator's credentials (unless
    /// AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are set: another identity there).
    #[arg(long, global = true)]
    pub local: bool,

    /// With --local (ignored without): the environment, as `scripts/local-cloud provision`
    /// prints it (default: .local-cloud/platform-failover.json, looked up
    /// from the current directory upwards).
    #[arg(long, global = true, env = "FAILOVERCTL_LOCAL_ENV")]
    pub local_env: Option<PathBuf>,

    /// With --local (ignored without): the Lambda runtime emulator serving the functions
    /// (default: the one the local cloud has registered for the environment,
    /// as `scripts/local-cloud lambda` registers it).
    #[arg(long, global = true, env = "FAILOVERCTL_LAMBDA_ENDPOINT")]
    pub lambda_endpoint: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LaneArg {
    Live,
    DryRun,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Each region's health, alarm, lease and open incident, and the reconciler's last run.
    Status,
    /// The incidents, newest first.
    Incidents {
        /// Only this region's.
        #[arg(long)]
        region: Option<String>,
        /// Only those detected since: an RFC 3339 time or date
        /// (2026-11-22T10:00:00Z, 2026-11-22) or an age (90m, 24h, 7d).
        #[arg(long, value_parser = since)]
        since: Option<Since>,
        /// At most this many.
        #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..=1000))]
        limit: u32,
    },
    /// One incident's report: timeline, readings, diagnosis, decisions,
    /// actions, notices, escalation, time to recover.
    Show {
        incident_id: String,
        /// Markdown, for a postmortem.
        #[arg(long, conflicts_with = "json")]
        markdown: bool,
    },
    /// Asks confirm-outage to confirm an outage of REGION (its manual event),
    /// with your identity as the trigger.
    Recover {
        region: String,
        /// Decide and report only; change nothing.
        #[arg(long)]
        dry_run: bool,
        /// Why (it goes on the incident's timeline).
        #[arg(long)]
        reason: Option<String>,
    },
    /// The latest readiness report: every check, and the fix of each one
    /// that did not pass.
    Readiness {
        /// Evaluate now (invokes evaluate-readiness, with your identity as
        /// the reason) instead of reading the latest report.
        #[arg(long)]
        evaluate: bool,
    },
    /// Runs the reconciler once (its manual event), with your identity as the reason.
    Reconcile {
        #[arg(long)]
        reason: Option<String>,
    },
    /// Approve mode: approves the remedy INCIDENT_ID waits for, as you (your
    /// AWS identity goes on its timeline); the last approval needed resumes
    /// the recovery workflow, which reads the region again before it acts.
    Approve {
        incident_id: String,
        /// Why, or what you checked (it goes on the timeline).
        #[arg(long)]
        comment: Option<String>,
    },
    /// Approve mode: rejects the remedy INCIDENT_ID waits for; the incident
    /// is closed as escalated with your reason, and nothing is changed.
    Reject {
        incident_id: String,
        #[arg(long)]
        reason: String,
    },
    /// Break glass: closes an open incident as escalated to you, in this
    /// process (works while the functions are broken).
    Escalate {
        incident_id: String,
        #[arg(long)]
        reason: String,
    },
    /// Break glass: frees REGION's lease, in this process. An open incident
    /// holding it is closed as escalated in the same write.
    Release {
        region: String,
        #[arg(long)]
        reason: String,
        /// Which lease: the live one, or the one dry runs take.
        #[arg(long, value_enum, default_value_t = LaneArg::Live)]
        lane: LaneArg,
    },
}

/// A `--since` as given: a time, or an age counted back from now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Since {
    At(DateTime<Utc>),
    Ago(chrono::Duration),
}

impl Since {
    pub fn at(self, now: DateTime<Utc>) -> DateTime<Utc> {
        match self {
            Self::At(at) => at,
            Self::Ago(age) => now - age,
        }
    }
}

fn since(text: &str) -> Result<Since, String> {
    let text = text.trim();
    if let Ok(at) = DateTime::parse_from_rfc3339(text) {
        return Ok(Since::At(at.with_timezone(&Utc)));
    }
    if let Ok(day) = chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        let midnight = day.and_hms_opt(0, 0, 0).ok_or("not a day")?;
        return Ok(Since::At(midnight.and_utc()));
    }
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (digits, unit) = text.split_at(split);
    let count: i64 = digits.parse().map_err(|_| bad_since(text))?;
    let age = match unit {
        "m" => chrono::Duration::try_minutes(count),
        "h" => chrono::Duration::try_hours(count),
        "d" => chrono::Duration::try_days(count),
        _ => None,
    };
    age.map(Since::Ago).ok_or_else(|| bad_since(text))
}

fn bad_since(text: &str) -> String {
    format!(
        "{text:?} is neither an RFC 3339 time (2026-11-22T10:00:00Z), a date (2026-11-22) nor an age (90m, 24h, 7d)"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::error::ErrorKind;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("failoverctl").chain(args.iter().copied()))
    }

    #[test]
    fn good_command_lines_parse_to_what_they_say() {
        let cli = parse(&["status"]).unwrap();
        assert!(matches!(cli.command, Command::Status));
        for (args, evaluates) in [
            (&["readiness"][..], false),
            (&["readiness", "--evaluate"], true),
        ] {
            let cli = parse(args).unwrap();
            assert!(
                matches!(cli.command, Command::Readiness { evaluate } if evaluate == evaluates),
                "{args:?}"
            );
        }
        assert!(!cli.json && !cli.target.local && cli.target.stack.is_none());

        let cli = parse(&[
            "--stack",
            "pf",
            "--json",
            "incidents",
            "--region",
            "us-east-1",
        ])
        .unwrap();
        assert_eq!(cli.target.stack.as_deref(), Some("pf"));
        assert!(cli.json);
        let Command::Incidents {
            region,
            since,
            limit,
        } = cli.command
        else {
            panic!("{:?}", cli.command);
        };
        assert_eq!(
            (region.as_deref(), since, limit),
            (Some("us-east-1"), None, 20)
        );

        let cli = parse(&["incidents", "--since", "2026-11-22", "--limit", "5"]).unwrap();
        let Command::Incidents { since, limit, .. } = cli.command else {
            panic!();
        };
        assert_eq!(limit, 5);
        assert_eq!(
            since,
            Some(Since::At("2026-11-22T00:00:00Z".parse().unwrap()))
        );

        let cli = parse(&["show", "us-east-1-20261122-101500-3f9a2c1b", "--markdown"]).unwrap();
        assert!(matches!(cli.command, Command::Show { markdown: true, .. }));

        let cli = parse(&[
            "--local",
            "recover",
            "us-east-1",
            "--dry-run",
            "--reason",
            "503s",
        ])
        .unwrap();
        assert!(cli.target.local);
        let Command::Recover {
            region,
            dry_run,
            reason,
        } = cli.command
        else {
            panic!();
        };
        assert_eq!(
            (region.as_str(), dry_run, reason.as_deref()),
            ("us-east-1", true, Some("503s"))
        );

        let cli = parse(&[
            "release",
            "eu-west-1",
            "--reason",
            "db",
            "--lane",
            "dry-run",
        ])
        .unwrap();
        assert!(matches!(
            cli.command,
            Command::Release {
                lane: LaneArg::DryRun,
                ..
            }
        ));
        let cli = parse(&["escalate", "id-1", "--reason", "paged", "--json"]).unwrap();
        assert!(cli.json && matches!(cli.command, Command::Escalate { .. }));
        let cli = parse(&["reconcile"]).unwrap();
        assert!(matches!(cli.command, Command::Reconcile { reason: None }));
        let cli = parse(&["approve", "id-1"]).unwrap();
        assert!(matches!(
            cli.command,
            Command::Approve { comment: None, .. }
        ));
        let cli = parse(&["approve", "id-1", "--comment", "checked the pods"]).unwrap();
        let Command::Approve {
            incident_id,
            comment,
        } = cli.command
        else {
            panic!();
        };
        assert_eq!(
            (incident_id.as_str(), comment.as_deref()),
            ("id-1", Some("checked the pods"))
        );
        let cli = parse(&["reject", "id-1", "--reason", "maintenance"]).unwrap();
        assert!(matches!(cli.command, Command::Reject { reason, .. } if reason == "maintenance"));
    }

    #[test]
    fn bad_command_lines_are_refused_with_the_reason() {
        for (args, kind) in [
            (
                &["release", "us-east-1"][..],
                ErrorKind::MissingRequiredArgument,
            ),
            (
                &["escalate", "id-1"][..],
                ErrorKind::MissingRequiredArgument,
            ),
            (&["show"][..], ErrorKind::MissingRequiredArgument),
            (&["approve"][..], ErrorKind::MissingRequiredArgument),
            (&["reject", "id-1"][..], ErrorKind::MissingRequiredArgument),
            (&["recover"][..], ErrorKind::MissingRequiredArgument),
            (
                &["incidents", "--since", "yesterday"][..],
                ErrorKind::ValueValidation,
            ),
            (
                &["incidents", "--since", "5w"][..],
                ErrorKind::ValueValidation,
            ),
            (
                &["incidents", "--limit", "0"][..],
                ErrorKind::ValueValidation,
            ),
            (
                &["release", "us-east-1", "--reason", "x", "--lane", "blue"][..],
                ErrorKind::InvalidValue,
            ),
            (
                &["--local", "--stack", "pf", "status"][..],
                ErrorKind::ArgumentConflict,
            ),
            (
                &["show", "id", "--markdown", "--json"][..],
                ErrorKind::ArgumentConflict,
            ),
            (&["frobnicate"][..], ErrorKind::InvalidSubcommand),
            (&[][..], ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand),
        ] {
            let error = parse(args).expect_err(&format!("{args:?}"));
            assert_eq!(error.kind(), kind, "{args:?}: {error}");
            assert_eq!(error.exit_code(), 2, "{args:?}: bad usage");
        }
    }

    #[test]
    fn ages_count_back_from_now() {
        let now: DateTime<Utc> = "2026-11-22T12:00:00Z".parse().unwrap();
        for (text, at) in [
            ("90m", "2026-11-22T10:30:00Z"),
            ("24h", "2026-11-21T12:00:00Z"),
            ("7d", "2026-11-15T12:00:00Z"),
            ("2026-11-22T10:00:00+01:00", "2026-11-22T09:00:00Z"),
        ] {
            let parsed = since(text).unwrap();
            assert_eq!(
                parsed.at(now),
                at.parse::<DateTime<Utc>>().unwrap(),
                "{text}"
            );
        }
        assert!(since("h").is_err());
    }

    #[test]
    fn the_help_documents_the_exit_codes() {
        let help = <Cli as clap::CommandFactory>::command()
            .render_long_help()
            .to_string();
        for code in [
            "0  done",
            "1  the operation failed",
            "2  bad usage",
            "3  status",
            "4  status",
        ] {
            assert!(help.contains(code), "{code}: {help}");
        }
    }
}
