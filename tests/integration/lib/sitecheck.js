'use strict';
// The oracle of the control-loop tests: given the gateway's configuration
// (the object the test wrote) and the limit every EVSE really applies (from
// the simulated chargers), say what is wrong with the site. Deliberately
// small and free of cleverness.
//
// evses: [{ charger, evse, amps: [a1, a2, a3] on the charger's own phases,
//           phases (how many it uses), active (a session with an EV that
//           wants current), demandA, maxA }]   (SimCharger.snapshot())
// opts:  siteLimitA  the EMS limit in force (number or [L1, L2, L3]): an
//                    extra bound on the grid connection
//        room        how much room on every phase of every circuit on its
//                    path makes a starved EVSE "idle capacity" (default
//                    site.min_current_a)
//        tolerance   an EVSE this close to its maximum is at it (0.1 A)
//
// Returns { sums, violations, belowMin, idle }:
//  sums:       circuit id -> [L1, L2, L3], the limits of every EVSE below
//              the circuit, mapped onto grid phases
//  violations: [{ circuit, phase: 'L1'|'L2'|'L3', sum, limit }]
//  belowMin:   [{ charger, evse, amps }]: a phase strictly between 0 and
//              site.min_current_a
//  idle:       [{ charger, evse, limitA, maxA }]: an active EVSE below
//              min(its maximum, its EV's demand) while every circuit on its
//              path has at least `room` left on every grid phase it uses

const PHASE = { L1: 0, L2: 1, L3: 2 };
const EPS = 1e-6;

const triple = (x) => (Array.isArray(x) ? x : [x, x, x]);

// Grid phase (0..2) of each of the charger's phases.
function gridPhases(ch) {
  const rot = ch.phase_rotation || ((ch.phases ?? 3) === 1 ? 'L1' : 'L1L2L3');
  return rot.match(/L[123]/g).map((p) => PHASE[p]);
}

function sitecheck(cfg, evses, opts = {}) {
  const min = cfg.site.min_current_a ?? 6;
  const room = opts.room ?? min;
  const tol = opts.tolerance ?? 0.1;
  const circuits = new Map(cfg.site.circuits.map((c) => [c.id, c]));
  const root = cfg.site.circuits.find((c) => !c.parent).id;
  const chargers = new Map(cfg.chargers.map((c) => [c.id, c]));

  const limitOf = (id) => {
    const l = triple(circuits.get(id).max_current_a);
    if (id !== root || opts.siteLimitA == null) return l;
    return l.map((x, i) => Math.min(x, triple(opts.siteLimitA)[i]));
  };
  const pathOf = (ch) => {
    const out = [];
    for (let id = ch.circuit || root; id; id = circuits.get(id).parent) out.push(id);
    return out;
  };

  // Each EVSE on the grid: its limit per grid phase.
  const placed = evses.map((e) => {
    const ch = chargers.get(e.charger);
    if (!ch) throw new Error(`sitecheck: charger ${e.charger} is not in the configuration`);
    const map = gridPhases(ch);
    const grid = [0, 0, 0];
    map.forEach((g, i) => { grid[g] += e.amps[i]; });
    // The grid phases it uses (or would use when paused).
    const uses = map.slice(0, Math.min(e.phases || map.length, map.length));
    return { e, ch, grid, uses, path: pathOf(ch) };
  });

  const sums = new Map(cfg.site.circuits.map((c) => [c.id, [0, 0, 0]]));
  for (const p of placed) {
    for (const id of p.path) p.grid.forEach((a, g) => { sums.get(id)[g] += a; });
  }

  const violations = [];
  for (const [id, sum] of sums) {
    const lim = limitOf(id);
    sum.forEach((s, g) => {
      if (s > lim[g] + EPS) violations.push({ circuit: id, phase: `L${g + 1}`, sum: s, limit: lim[g] });
    });
  }

  const belowMin = placed.filter((p) => p.e.amps.some((a) => a > EPS && a < min - EPS))
    .map((p) => ({ charger: p.e.charger, evse: p.e.evse, amps: p.e.amps }));

  const idle = [];
  for (const p of placed) {
    if (!p.e.active) continue;
    const limitA = Math.max(...p.e.amps);
    const maxA = Math.min(p.ch.max_current_a, p.e.maxA ?? Infinity, p.e.demandA ?? Infinity);
    if (limitA >= maxA - tol) continue;
    const roomy = p.path.every((id) => p.uses.every((g) => limitOf(id)[g] - sums.get(id)[g] >= room - EPS));
    if (roomy) idle.push({ charger: p.e.charger, evse: p.e.evse, limitA, maxA });
  }

  return { sums: Object.fromEntries(sums), violations, belowMin, idle };
}

module.exports = { sitecheck, gridPhases };
