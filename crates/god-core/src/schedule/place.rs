//! Placement: node classes, best fit, failure memos, and the EASY backfill reservation.
//!
//! A job may use the nodes carrying all its labels whose reservation, if any, admits its user
//! or project. The unreserved ones form its *class*: jobs with the same labels share a class,
//! built once per pass. The few reserved nodes that admit the job's user or project are
//! checked one by one for that job.
//!
//! Within a pass free resources only shrink, so "no node of this class fits shape S" stays true
//! for every shape ≥ S: each class keeps the minimal failed shapes, and a saturated cluster
//! answers most jobs without scanning nodes.

use super::model::{LabelId, Node, NodeIx, Pending, ProjectIx, Snapshot, UserIx};
use super::reason::{Dim, Reason};
use crate::task::JobId;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Arc;

const EPS: f64 = 1e-9;
/// Memo lists are caches: past this length the oldest entries are dropped.
const MEMO_CAP: usize = 32;

/// What a job asks for.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Shape {
    pub cpu: u32,
    pub gpus: u32,
    pub ram: f64,
}

impl Shape {
    pub(crate) fn of(j: &Pending) -> Shape {
        Shape {
            cpu: j.cpu,
            gpus: j.gpus,
            ram: j.ram,
        }
    }

    /// `self` needs no more than `o` in every dimension.
    fn le(self, o: Shape) -> bool {
        self.cpu <= o.cpu && self.gpus <= o.gpus && self.ram <= o.ram
    }
}

/// Resources of a node (free, total or spare); signed so an over-committed snapshot stays
/// consistent.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Room {
    cpu: i64,
    gpus: i64,
    ram: f64,
}

impl Room {
    const NEG: Room = Room {
        cpu: i64::MIN,
        gpus: i64::MIN,
        ram: f64::NEG_INFINITY,
    };

    fn of(n: &Node) -> Room {
        Room {
            cpu: i64::from(n.cpus),
            gpus: i64::from(n.gpus),
            ram: n.ram,
        }
    }

    fn fits(&self, s: Shape) -> bool {
        self.cpu >= i64::from(s.cpu) && self.gpus >= i64::from(s.gpus) && self.ram + EPS >= s.ram
    }

    fn take(&mut self, s: Shape) {
        self.cpu -= i64::from(s.cpu);
        self.gpus -= i64::from(s.gpus);
        self.ram -= s.ram;
    }

    fn give(&mut self, s: Shape) {
        self.cpu += i64::from(s.cpu);
        self.gpus += i64::from(s.gpus);
        self.ram += s.ram;
    }

    fn max(self, o: Room) -> Room {
        Room {
            cpu: self.cpu.max(o.cpu),
            gpus: self.gpus.max(o.gpus),
            ram: self.ram.max(o.ram),
        }
    }

    /// The first dimension in which `s` exceeds `self`.
    fn short(&self, s: Shape) -> Option<Dim> {
        if i64::from(s.cpu) > self.cpu {
            Some(Dim::Cpu)
        } else if s.ram > self.ram + EPS {
            Some(Dim::Ram)
        } else if i64::from(s.gpus) > self.gpus {
            Some(Dim::Gpus)
        } else {
            None
        }
    }

    /// Leftover after placing `s`, for best fit: fewest spare gpus first (keep GPU nodes for
    /// GPU jobs), then cpus, then ram.
    fn leftover(&self, s: Shape) -> (i64, i64, f64) {
        (
            self.gpus - i64::from(s.gpus),
            self.cpu - i64::from(s.cpu),
            self.ram - s.ram,
        )
    }
}

/// Push `item` into a bounded memo list, dropping the oldest entry when full.
fn remember<T>(list: &mut Vec<T>, item: T) {
    if list.len() >= MEMO_CAP {
        list.remove(0);
    }
    list.push(item);
}

/// FxHash (rustc's): a fast hash for small integer keys, no DoS concern inside a pass.
#[derive(Default, Clone, Copy)]
pub(crate) struct Fx(u64);

impl Fx {
    fn add(&mut self, x: u64) {
        self.0 = (self.0.rotate_left(5) ^ x).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

impl Hasher for Fx {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut b = [0u8; 8];
            b.copy_from_slice(c);
            self.add(u64::from_le_bytes(b));
        }
        for &b in chunks.remainder() {
            self.add(u64::from(b));
        }
    }
    fn write_u32(&mut self, i: u32) {
        self.add(u64::from(i));
    }
    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

pub(crate) type FxBuild = BuildHasherDefault<Fx>;

struct Class {
    /// Unreserved nodes carrying the labels, ascending.
    nodes: Vec<NodeIx>,
    /// Why no node can take these jobs, unless a reserved node admits them.
    block: Reason,
    max_total: Room,
    static_ok: Vec<Shape>,
    static_bad: Vec<Shape>,
    /// Minimal shapes that fit on no node of the class (except perhaps the reserved node), with
    /// the largest free room seen then, per dimension.
    fails: Vec<(Shape, Room)>,
    /// Shapes that fit, with the node, valid while `fits_gen` is the placer's generation.
    fits: Vec<(Shape, NodeIx)>,
    fits_gen: u64,
}

/// The EASY reservation held for the first job that cannot start.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Shadow {
    pub job: JobId,
    pub node: NodeIx,
    /// Estimated start.
    pub start: f64,
    /// What the node has left at `start` once the reserved job is placed: jobs that run past
    /// `start` on this node must fit in it.
    extra: Room,
}

pub(crate) enum Find {
    /// Fits now on this node.
    Node(NodeIx),
    /// Fits now only on the reserved node, and would delay its reservation.
    Held,
    /// Fits nowhere now; the dimension no node offers, if one.
    NoFree(Option<Dim>),
}

/// What placement needs to know about one job.
#[derive(Clone, Copy)]
pub(crate) struct Want<'a> {
    pub class: u32,
    pub shape: Shape,
    pub user: UserIx,
    pub project: ProjectIx,
    pub labels: &'a [LabelId],
    pub est_end: f64,
}

pub(crate) struct Placer<'a> {
    s: &'a Snapshot,
    default_walltime: f64,
    total: Vec<Room>,
    free: Vec<Room>,
    /// Reserved nodes listing each user, each project.
    user_nodes: Vec<Vec<NodeIx>>,
    project_nodes: Vec<Vec<NodeIx>>,
    classes: Vec<Class>,
    index: HashMap<&'a [LabelId], u32, FxBuild>,
    open_class: Option<u32>,
    /// Bumped at every commit: invalidates the `fits` memos.
    generation: u64,
    pub shadow: Option<Shadow>,
    /// Jobs dispatched in this pass: (node, estimated end, shape).
    started: Vec<(NodeIx, f64, Shape)>,
}

impl<'a> Placer<'a> {
    pub(crate) fn new(s: &'a Snapshot, default_walltime: f64) -> Placer<'a> {
        let total: Vec<Room> = s.nodes.iter().map(Room::of).collect();
        let mut free = total.clone();
        for r in &s.running {
            if let Some(f) = free.get_mut(r.node as usize) {
                f.take(Shape {
                    cpu: r.cpu,
                    gpus: r.gpus,
                    ram: r.ram,
                });
            }
        }
        let mut user_nodes = vec![Vec::new(); s.users.len()];
        let mut project_nodes = vec![Vec::new(); s.projects.len()];
        for (i, n) in s.nodes.iter().enumerate() {
            let Some(r) = &n.reservation else { continue };
            for &u in &r.users {
                if let Some(x) = user_nodes.get_mut(u as usize) {
                    x.push(i as NodeIx);
                }
            }
            for &p in &r.projects {
                if let Some(x) = project_nodes.get_mut(p as usize) {
                    x.push(i as NodeIx);
                }
            }
        }
        Placer {
            s,
            default_walltime,
            total,
            free,
            user_nodes,
            project_nodes,
            classes: Vec::new(),
            index: HashMap::default(),
            open_class: None,
            generation: 0,
            shadow: None,
            started: Vec::new(),
        }
    }

    /// The class of `j`'s labels (label ids must be valid).
    pub(crate) fn class_of(&mut self, j: &'a Pending) -> u32 {
        if j.labels.is_empty() {
            if let Some(c) = self.open_class {
                return c;
            }
            let c = self.build(&[]);
            self.open_class = Some(c);
            return c;
        }
        if let Some(&c) = self.index.get(j.labels.as_slice()) {
            return c;
        }
        let c = self.build(&j.labels);
        self.index.insert(&j.labels, c);
        c
    }

    fn build(&mut self, labels: &[LabelId]) -> u32 {
        let s = self.s;
        let has_all = |n: &Node| labels.iter().all(|l| n.labels.contains(l));
        let nodes: Vec<NodeIx> = s
            .nodes
            .iter()
            .enumerate()
            .filter(|(_, n)| n.reservation.is_none() && has_all(n))
            .map(|(i, _)| i as NodeIx)
            .collect();
        let block = if s.nodes.is_empty() {
            Reason::NoNodes
        } else if let Some(&l) = labels
            .iter()
            .find(|l| !s.nodes.iter().any(|n| n.labels.contains(l)))
        {
            let label = s
                .labels
                .get(l as usize)
                .cloned()
                .unwrap_or_else(|| Arc::from(format!("#{l}")));
            Reason::NoLabel { label }
        } else if !s.nodes.iter().any(has_all) {
            Reason::NoLabelCombination
        } else {
            Reason::NotOpen
        };
        let max_total = nodes
            .iter()
            .fold(Room::NEG, |m, &n| m.max(self.total[n as usize]));
        self.classes.push(Class {
            nodes,
            block,
            max_total,
            static_ok: Vec::new(),
            static_bad: Vec::new(),
            fails: Vec::new(),
            fits: Vec::new(),
            fits_gen: 0,
        });
        (self.classes.len() - 1) as u32
    }

    /// May the job use node `n` (labels, reservation)?
    fn eligible(&self, n: NodeIx, w: &Want) -> bool {
        self.s.nodes.get(n as usize).is_some_and(|node| {
            w.labels.iter().all(|l| node.labels.contains(l))
                && node
                    .reservation
                    .as_ref()
                    .is_none_or(|r| r.admits(w.user, w.project))
        })
    }

    /// The reserved nodes that admit the job and carry its labels, into `out`.
    pub(crate) fn reserved_for(&self, w: &Want, out: &mut Vec<NodeIx>) {
        out.clear();
        let by_user = self.user_nodes.get(w.user as usize).map_or(&[][..], |v| v);
        let by_project = self
            .project_nodes
            .get(w.project as usize)
            .map_or(&[][..], |v| v);
        if by_user.is_empty() && by_project.is_empty() {
            return;
        }
        for &n in by_user.iter().chain(by_project) {
            if !out.contains(&n) && self.eligible(n, w) {
                out.push(n);
            }
        }
    }

    /// Can a node the job may use ever take it (when empty)? `reserved`: from
    /// [`Self::reserved_for`].
    pub(crate) fn static_check(&mut self, w: &Want, reserved: &[NodeIx]) -> Result<(), Reason> {
        let shape = w.shape;
        let total = &self.total;
        let class = &mut self.classes[w.class as usize];
        if class.nodes.is_empty() && reserved.is_empty() {
            return Err(class.block.clone());
        }
        let too_large = |dim| Reason::TooLarge {
            cpu: shape.cpu,
            gpus: shape.gpus,
            ram: shape.ram,
            dim,
        };
        let reserved_fits = || reserved.iter().any(|&n| total[n as usize].fits(shape));
        let max_total = reserved
            .iter()
            .fold(class.max_total, |m, &n| m.max(total[n as usize]));
        if let Some(dim) = max_total.short(shape) {
            return Err(too_large(Some(dim)));
        }
        if class.static_ok.iter().any(|o| shape.le(*o)) {
            return Ok(());
        }
        if class.static_bad.iter().any(|b| b.le(shape)) {
            return if reserved_fits() {
                Ok(())
            } else {
                Err(too_large(None))
            };
        }
        if class.nodes.iter().any(|&n| total[n as usize].fits(shape)) {
            class.static_ok.retain(|o| !o.le(shape));
            remember(&mut class.static_ok, shape);
            Ok(())
        } else {
            class.static_bad.retain(|b| !shape.le(*b));
            remember(&mut class.static_bad, shape);
            if reserved_fits() {
                Ok(())
            } else {
                Err(too_large(None))
            }
        }
    }

    /// Where the job can start now. `best`: choose the best-fitting node (to commit);
    /// otherwise any fitting node will do (a check only). `reserved`: from
    /// [`Self::reserved_for`].
    pub(crate) fn find(&mut self, w: &Want, reserved: &[NodeIx], best: bool) -> Find {
        let shape = w.shape;
        let shadow_node = self.shadow.map(|sh| sh.node);
        let generation = self.generation;
        let free = &self.free;
        let class = &mut self.classes[w.class as usize];
        let mut chosen: Option<(NodeIx, (i64, i64, f64))> = None;
        let consider = |n: NodeIx, room: Room, chosen: &mut Option<(NodeIx, _)>| {
            let left = room.leftover(shape);
            if chosen.is_none_or(|(_, l)| left < l) {
                *chosen = Some((n, left));
            }
        };
        let known_fail = class
            .fails
            .iter()
            .find(|(f, _)| f.le(shape))
            .map(|(_, room)| *room);
        let mut max_free = match known_fail {
            Some(room) => room,
            None => {
                if !best && class.fits_gen == generation {
                    if let Some(&(_, n)) = class.fits.iter().find(|(f, _)| shape.le(*f)) {
                        return Find::Node(n);
                    }
                }
                let mut max_free = Room::NEG;
                for &n in &class.nodes {
                    let room = free[n as usize];
                    max_free = max_free.max(room);
                    if Some(n) == shadow_node || !room.fits(shape) {
                        continue;
                    }
                    consider(n, room, &mut chosen);
                    if !best {
                        break;
                    }
                }
                match chosen {
                    Some((n, _)) if !best => {
                        if class.fits_gen != generation {
                            class.fits.clear();
                            class.fits_gen = generation;
                        }
                        remember(&mut class.fits, (shape, n));
                    }
                    Some(_) => {}
                    None => {
                        class.fails.retain(|(f, _)| !shape.le(*f));
                        remember(&mut class.fails, (shape, max_free));
                    }
                }
                max_free
            }
        };
        for &n in reserved {
            let room = free[n as usize];
            max_free = max_free.max(room);
            if Some(n) != shadow_node && room.fits(shape) {
                consider(n, room, &mut chosen);
            }
        }
        if let Some((n, _)) = chosen {
            return Find::Node(n);
        }
        if let Some(sh) = self.shadow {
            let room = self.free[sh.node as usize];
            if room.fits(shape) && self.eligible(sh.node, w) {
                return if w.est_end <= sh.start || sh.extra.fits(shape) {
                    Find::Node(sh.node)
                } else {
                    Find::Held
                };
            }
        }
        Find::NoFree(max_free.short(shape))
    }

    /// Place `shape` on node `n` now.
    pub(crate) fn commit(&mut self, n: NodeIx, shape: Shape, est_end: f64) {
        self.free[n as usize].take(shape);
        self.generation += 1;
        if let Some(sh) = &mut self.shadow {
            if sh.node == n && est_end > sh.start {
                sh.extra.take(shape);
            }
        }
        self.started.push((n, est_end, shape));
    }

    /// Reserve, for the first job that cannot start, the node where it can start the earliest,
    /// estimating from the ends of the jobs there (started + wall-time limit, or the default; an
    /// overdue job is expected to end now; jobs started in this pass included).
    pub(crate) fn reserve(&mut self, job: JobId, w: &Want, reserved: &[NodeIx]) {
        if self.shadow.is_some() {
            return;
        }
        let s = self.s;
        let shape = w.shape;
        let mut cands: Vec<NodeIx> = self.classes[w.class as usize]
            .nodes
            .iter()
            .chain(reserved)
            .copied()
            .filter(|&n| self.total[n as usize].fits(shape))
            .collect();
        cands.sort_unstable();
        cands.dedup();
        let mut is_cand = vec![false; s.nodes.len()];
        for &n in &cands {
            is_cand[n as usize] = true;
        }
        let mut releases: Vec<(NodeIx, f64, Shape)> = s
            .running
            .iter()
            .filter(|r| is_cand.get(r.node as usize).copied().unwrap_or(false))
            .map(|r| {
                let end = r.started + r.walltime.unwrap_or(self.default_walltime);
                let shape = Shape {
                    cpu: r.cpu,
                    gpus: r.gpus,
                    ram: r.ram,
                };
                (r.node, end.max(s.now), shape)
            })
            .chain(
                self.started
                    .iter()
                    .filter(|(n, _, _)| is_cand[*n as usize])
                    .copied(),
            )
            .collect();
        releases.sort_unstable_by(|a, b| a.0.cmp(&b.0).then(a.1.total_cmp(&b.1)));
        let mut best: Option<(f64, NodeIx, Room)> = None;
        let mut k = 0;
        for &n in &cands {
            let mut room = self.free[n as usize];
            while k < releases.len() && releases[k].0 < n {
                k += 1;
            }
            let mut start = if room.fits(shape) { Some(s.now) } else { None };
            while k < releases.len() && releases[k].0 == n {
                if start.is_none() {
                    room.give(releases[k].2);
                    if room.fits(shape) {
                        start = Some(releases[k].1);
                    }
                }
                k += 1;
            }
            if let Some(t) = start {
                if best.is_none_or(|(bt, _, _)| t < bt) {
                    best = Some((t, n, room));
                }
            }
        }
        if let Some((start, node, mut extra)) = best {
            extra.take(shape);
            self.shadow = Some(Shadow {
                job,
                node,
                start,
                extra,
            });
        }
    }
}

#[cfg(test)]
mod tests;
