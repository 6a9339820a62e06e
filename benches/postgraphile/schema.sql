-- The one addition PostGraphile needs over persona-graph's tables: a computed column for
-- "the journeys a persona goes through", which has no foreign key to follow (a journey
-- applies to every persona of its kind unless journey_persona narrows it to some). It is
-- the same rule persona-graph's Persona.journeys applies, in the same order (name, id), and
-- PostGraphile exposes it as Persona.journeys and inlines it in its single SQL statement.
-- persona-graph does not use it. The benchmark runs this before starting PostGraphile.
CREATE OR REPLACE FUNCTION public.persona_journeys(p public.persona)
RETURNS SETOF public.journey
LANGUAGE sql STABLE
AS $$
  SELECT j.*
  FROM public.journey j
  WHERE j.persona_kind = p.kind
    AND (NOT EXISTS (SELECT 1 FROM public.journey_persona n WHERE n.journey_id = j.id)
         OR EXISTS (SELECT 1 FROM public.journey_persona n
                    WHERE n.journey_id = j.id AND n.persona_id = p.id))
  ORDER BY j.name, j.id
$$;
