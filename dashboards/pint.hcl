// pint configuration for crossteam's generated rules (dashboards/rules);
// dashboards/linters_test.go runs `pint --offline lint` with it and fails
// on any report. Each disabled check says why.

rule {
  match {
    kind = "recording"
  }
  // The trend groups are evaluated every 6h (7-day windows) and every day
  // (28-day windows): a 28th of their window, so a year of a recorded
  // series is 1,460 or 365 samples (what a year-long board range reads).
  // The gaps group/interval warns about are never seen: every reader
  // (boards, alerts, the rules after them) reads these series with
  // last_over_time over the group's interval (dashboards/windows.go,
  // errorsLookback in dashboards/rules.go).
  disable = ["group/interval"]
}

rule {
  match {
    name = "CrossteamHandoffAgreementBurn"
  }
  // A false positive: `A / on (...) group_left (notify_sender) B > 4 and on
  // (...) C > 4` keeps the left side's series, notify_sender included;
  // crossteam.alerts.test.yml asserts notify_sender on the firing alerts.
  disable = ["promql/impossible"]
}
