//! The word pools the synthetic catalog draws its names and texts from.

pub(super) const DEV_TITLES: &[&str] = &[
    "Backend Developer",
    "Frontend Developer",
    "Platform Engineer",
    "Site Reliability Engineer",
    "Mobile Developer",
    "Data Engineer",
    "Full-Stack Developer",
    "Security Engineer",
];
pub(super) const DEV_TRAITS: &[&str] = &[
    "Pragmatic",
    "Curious",
    "Busy",
    "Senior",
    "Junior",
    "Open-Source",
];
pub(super) const BUYER_TITLES: &[&str] = &[
    "Engineering Manager",
    "VP of Engineering",
    "CTO",
    "Director of Platform",
    "Head of Developer Experience",
    "Procurement Lead",
];
pub(super) const BUYER_TRAITS: &[&str] = &[
    "Budget-Minded",
    "Strategic",
    "Enterprise",
    "Mid-Market",
    "Startup",
];
pub(super) const ADMIN_TITLES: &[&str] = &[
    "Systems Administrator",
    "IT Administrator",
    "DevOps Administrator",
    "Security Administrator",
    "Tooling Owner",
];
pub(super) const ADMIN_TRAITS: &[&str] =
    &["Careful", "Overloaded", "Compliance-Focused", "Hands-On"];
pub(super) const ROLE_TITLES: &[&str] = &[
    "Software Engineer",
    "Senior Software Engineer",
    "Staff Engineer",
    "Principal Engineer",
    "Engineering Manager",
    "Director of Engineering",
    "VP of Engineering",
    "CTO",
    "Platform Engineer",
    "DevOps Engineer",
    "Site Reliability Engineer",
    "Security Engineer",
    "Data Engineer",
    "Frontend Engineer",
    "Backend Engineer",
    "Mobile Engineer",
    "QA Engineer",
    "Technical Lead",
    "Architect",
    "IT Administrator",
    "Systems Administrator",
    "Procurement Manager",
    "Head of Developer Experience",
    "Developer Advocate",
];
pub(super) const GOALS: &[&str] = &[
    "wants to find code faster",
    "needs to understand a large codebase",
    "ships changes across many repositories",
    "keeps the tooling secure and compliant",
    "justifies the budget for developer tools",
    "onboards new engineers quickly",
    "reduces time spent on code review",
    "standardises how teams search and navigate code",
];
pub(super) const CONTEXTS: &[&str] = &[
    "Works in a company of several hundred engineers.",
    "Answers to a platform team that owns the developer tools.",
    "Evaluates tools with a small pilot group first.",
    "Prefers self-serve trials over sales calls.",
    "Needs single sign-on and audit logs before any rollout.",
    "Has a monorepo and hundreds of smaller repositories.",
    "Measures success by lead time and incident count.",
];
pub(super) const PAINS: &[&str] = &[
    "Searching code across repositories is slow",
    "Onboarding takes weeks",
    "Large-scale changes are risky",
    "Nobody knows who owns a service",
    "Security reviews block releases",
    "Tool sprawl costs too much",
    "Context switching between tools",
    "Outdated documentation",
];
pub(super) const MOTIVATIONS: &[&str] = &[
    "Ship faster",
    "Fewer incidents",
    "Happier engineers",
    "Lower cost per engineer",
    "Consistent code quality",
    "Better visibility into the codebase",
];
pub(super) const TEAM_WORDS: &[&str] = &[
    "Core",
    "Growth",
    "Platform",
    "Field",
    "Enterprise",
    "Self-Serve",
    "Insights",
    "Launch",
];
pub(super) const TEAM_FOCUS: &[&str] = &[
    "owns the product experience for this segment",
    "runs campaigns and content",
    "closes and expands accounts",
    "helps customers adopt the product",
    "measures the funnel",
    "builds the integrations",
];
pub(super) const STAGES: &[(&str, &str)] = &[
    ("discover", "Discover"),
    ("learn", "Learn"),
    ("evaluate", "Evaluate"),
    ("trial", "Trial"),
    ("pilot", "Pilot"),
    ("purchase", "Purchase"),
    ("onboard", "Onboard"),
    ("adopt", "Adopt"),
    ("integrate", "Integrate"),
    ("expand", "Expand"),
    ("renew", "Renew"),
    ("advocate", "Advocate"),
];
pub(super) const SIGNALS: &[&str] = &[
    "the persona visits the site",
    "a trial starts",
    "a second team joins",
    "the contract is signed",
    "weekly usage passes a threshold",
    "the persona invites colleagues",
    "a support ticket is resolved",
];
pub(super) const FIRST_NAMES: &[&str] = &[
    "Ada",
    "Alan",
    "Grace",
    "Linus",
    "Barbara",
    "Ken",
    "Margaret",
    "Dennis",
    "Frances",
    "Edsger",
    "Radia",
    "Guido",
    "Katherine",
    "Bjarne",
    "Hedy",
    "Tim",
];
pub(super) const LAST_NAMES: &[&str] = &[
    "Lovelace",
    "Turing",
    "Hopper",
    "Torvalds",
    "Liskov",
    "Thompson",
    "Hamilton",
    "Ritchie",
    "Allen",
    "Dijkstra",
    "Perlman",
    "Rossum",
    "Johnson",
    "Stroustrup",
    "Lamarr",
    "Berners-Lee",
];
